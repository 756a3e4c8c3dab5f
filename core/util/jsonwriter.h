// SPDX-License-Identifier: MIT
// Compact JSON text straight from CBOR values, without building QJsonDocuments (results are hot).
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QCborValue>

#include <functional>

namespace taskfleet::util {

/** Takes what \a out holds away (writes it somewhere and clears it), so a big value's JSON is never held whole. */
using JsonSpill = std::function<void(QByteArray &out)>;

/**
 * Appends \a value as compact JSON. Byte strings become base64url text, as QCborValue::toJsonValue does.
 * Unlike toJsonValue (which makes them null), NaN and the infinities are written exactly, as the tokens
 * `NaN`, `Infinity` and `-Infinity` of Python's json module (which JSON itself lacks: a strict reader
 * refuses such a line rather than read another value), and -0.0 keeps its sign. Tags: the tagged value.
 * Strings are escaped from their stored UTF-8 in runs, with no QString. With \a spill, it is called
 * whenever \a out grows past about a MiB while a big string is written.
 */
void appendJson(QByteArray &out, const QCborValue &value, const JsonSpill &spill = {});

/** Appends a JSON string literal with the escapes JSON requires. */
void appendJsonString(QByteArray &out, const QString &text);

} // namespace taskfleet::util
