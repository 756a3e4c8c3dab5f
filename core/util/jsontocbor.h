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
 * false and sets *error to "line L, column C: what is wrong". Nesting deeper than 512 is refused.
 */
[[nodiscard]] bool parseJsonExact(const QByteArray &json, QCborValue *out, QString *error);

/**
 * The same for a job file: when the value is an object, the elements of its "inputs" array go to
 * *topLevelInputs as values of their own, and the object holds an empty array there. A big input is then
 * held once: appending it to a QCborArray would copy it.
 */
[[nodiscard]] bool parseJsonExact(const QByteArray &json, QCborValue *out, QString *error,
                                  QVector<QCborValue> *topLevelInputs);

} // namespace taskfleet::util
