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
/**
 * The colour of the node named \a nodeName, the same in the table, chart and picture: the colour it was given
 * the first time it was seen (the node colour book, useNodeColorBook()). A node seen for the first time takes
 * the colour its name hashes to if no node in the book has it, else the first colour of the palette no node
 * has (searching on from that one), so the first nodePalette().size() nodes all differ; after that, the one
 * its name hashes to.
 */
QColor nodeColor(const QString &nodeName);
/** Every colour nodeColor() hands out: blues, greens and purples, none that reads as a failure (red, orange). */
QVector<QColor> nodePalette();
/**
 * Where node colours are remembered from now on: the QSettings INI file \a file (read now, written as nodes
 * are first seen), so each node keeps its colour across restarts whatever order nodes appear in; empty: only
 * while the process runs, starting from none. The window calls it as it opens.
 */
void useNodeColorBook(const QString &file);
/** The app's node colour book: node-colors.ini beside its QSettings file. */
QString defaultNodeColorBook();

} // namespace taskfleet::gui
