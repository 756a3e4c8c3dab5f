// SPDX-License-Identifier: MIT
// JSON text to CBOR values, exactly: integers stay 64-bit integers (QJsonDocument turns them into doubles,
// which silently rounds anything beyond 2^53), and invalid text is refused with its line and column.
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QCborValue>
#include <QtCore/QString>
#include <QtCore/QVector>

namespace taskfleet::util {

/**
 * Parses one JSON value (RFC 8259) from \a json into *out. Integers (no fraction, no exponent) that fit
 * in 64 bits become CBOR integers; larger ones are refused rather than rounded. Strings must be valid
 * UTF-8 and may not hold a lone surrogate (`"\ud800"`), which has no Unicode form. On failure returns
 * false and sets *error to "line L, column C: what is wrong". Nesting deeper than 512 is refused. NaN and
 * infinities (`NaN`, `Infinity`, `-Infinity`, which Python's json module writes and JSON does not have) are
 * refused with a message that names them. A repeated key in an object: the last one wins (see
 * JsonReadOptions::uniqueKeys).
 */
[[nodiscard]] bool parseJsonExact(const QByteArray &json, QCborValue *out, QString *error);

/** What parseJsonExact refused. */
enum class JsonRefusal {
    NotJson,      ///< the text is not JSON (including NaN, Infinity: JSON has no such numbers)
    DuplicateKey, ///< valid JSON, but an object names a key twice (only with JsonReadOptions::uniqueKeys)
};

struct JsonReadOptions {
    /**
     * Refuse an object that names a key twice (after unescaping: "a" and "\u0061" are the same key), at
     * every level, with the line and column of the second and of the first. Without it the last one wins,
     * as in QJsonDocument; RFC 8259 leaves it to the reader.
     */
    bool uniqueKeys = false;
    /**
     * For a job file: when the value is an object, the elements of its "inputs" array go here as values of
     * their own, and the object holds an empty array there. A big input is then held once: appending it to
     * a QCborArray would copy it.
     */
    QVector<QCborValue> *topLevelInputs = nullptr;
    /** Where to say why the text was refused (when it was). */
    JsonRefusal *refusal = nullptr;
};

/** The same, with \a options. */
[[nodiscard]] bool parseJsonExact(const QByteArray &json, QCborValue *out, QString *error,
                                  const JsonReadOptions &options);

} // namespace taskfleet::util
