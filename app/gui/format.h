// SPDX-License-Identifier: MIT
// Short human texts for values shown in tables.
#pragma once

#include <QtCore/QCborValue>
#include <QtCore/QString>
#include <QtCore/QVector>
#include <QtGui/QColor>

class QSaveFile;

namespace taskfleet::gui {

/**
 * Commits a QSaveFile written in full, or cancels it: false with *error "PATH: REASON" when a write failed.
 * QSaveFile::commit() alone reports success on a full disk when the failing write was the buffered one it
 * flushes (an empty file then replaces the old one): the write error is checked first.
 */
bool commitSaveFile(QSaveFile &file, QString *error);

/** From this size on, a text is shown with its size before its first characters. */
constexpr qint64 BigValueBytes = 64 * 1024;
/**
 * A one-line summary of a CBOR value: byte strings as "<N bytes: first bytes in hex …>", long texts cut at
 * \a maxChars, a text of BigValueBytes or more as "<47.7 MB text> its start…". Its cost does not grow with
 * the value's size (a 50 MB result is never converted whole).
 */
QString summarizeValue(const QCborValue &value, int maxChars = 200);
/** "1:05", "2:03:04", or "–" for a negative (unknown) duration. */
QString formatDuration(double seconds);
/** "12.3 ms", "1.24 s". */
QString formatSeconds(double seconds);
/** "1234", "12.5", "0.25" — a rate with sensible precision. */
QString formatRate(double perSecond);
/** "1 node", "2 nodes": \a count with the word in the right number (English; no translation is loaded). */
QString countOf(qint64 count, const QString &singular, const QString &plural);
/** The colour of the node named \a nodeName: derived from the name alone, so the same at every start and in the table, chart and picture. */
QColor nodeColor(const QString &nodeName);
/** Every colour nodeColor() hands out: blues, greens and purples, none that reads as a failure (red, orange). */
QVector<QColor> nodePalette();

} // namespace taskfleet::gui
