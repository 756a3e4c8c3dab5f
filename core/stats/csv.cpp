// SPDX-License-Identifier: MIT
#include "csv.h"

namespace taskfleet::stats {

QString csvField(const QString &field)
{
    bool needsQuotes = false;
    for (QChar c : field) {
        if (c == QLatin1Char(',') || c == QLatin1Char('"') || c == QLatin1Char('\n') || c == QLatin1Char('\r')) {
            needsQuotes = true;
            break;
        }
    }
    if (!needsQuotes)
        return field;
    QString quoted = field;
    quoted.replace(QLatin1Char('"'), QStringLiteral("\"\""));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}

QString csvRow(const QStringList &fields)
{
    QString row;
    for (qsizetype i = 0; i < fields.size(); ++i) {
        if (i)
            row += QLatin1Char(',');
        row += csvField(fields.at(i));
    }
    return row + QStringLiteral("\r\n");
}

} // namespace taskfleet::stats
