// SPDX-License-Identifier: MIT
// RFC 4180 CSV output.
#pragma once

#include <QtCore/QString>
#include <QtCore/QStringList>

namespace taskfleet::stats {

/** Quotes a field when it holds a comma, quote, CR or LF; doubles inner quotes. */
QString csvField(const QString &field);

/** One CSV record, terminated by CRLF as RFC 4180 says. */
QString csvRow(const QStringList &fields);

} // namespace taskfleet::stats
