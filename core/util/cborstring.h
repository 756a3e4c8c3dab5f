// SPDX-License-Identifier: MIT
// The bytes of CBOR text and byte strings without a QString or a copy: big values stay bytes.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QCborValue>

#include <functional>

namespace taskfleet::util {

/**
 * Calls \a sink with the bytes of \a value, a text string (UTF-8) or a byte string, in one or a few
 * pieces, straight from the value's own storage: no QString, no copy. (A text string Qt holds as UTF-16,
 * because it was made from a QString with non-ASCII text, is converted to UTF-8 on the way, once.)
 * Does nothing for other types. Uses one writer per thread: \a sink must not call it again.
 */
void forEachStringChunk(const QCborValue &value, const std::function<void(const char *, qsizetype)> &sink);

/** The size in bytes of a text string's UTF-8 or of a byte string, without a copy; 0 for other types. */
qint64 stringByteSize(const QCborValue &value);

/**
 * Sets *out to a CBOR text string holding the UTF-8 bytes \a data, copied once. Returns false (and leaves
 * *out alone) if they are not valid UTF-8.
 */
[[nodiscard]] bool textFromUtf8(const char *data, qsizetype size, QCborValue *out);

/**
 * Returns the first byte of [from, to) that a JSON string cannot hold as it is (a control character, '"' or
 * '\\'), or \a to. Eight bytes at a time: big values are scanned at memory speed.
 */
const char *findJsonSpecial(const char *from, const char *to);

} // namespace taskfleet::util
