// SPDX-License-Identifier: MIT
// Compact JSON text straight from CBOR values, without building QJsonDocuments (results are hot).
#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QCborValue>

namespace taskfleet::util {

/** Appends \a value as compact JSON. Byte strings become base64url text, as QCborValue::toJsonValue does. */
void appendJson(QByteArray &out, const QCborValue &value);

/** Appends a JSON string literal with the escapes JSON requires. */
void appendJsonString(QByteArray &out, const QString &text);

} // namespace taskfleet::util
