// SPDX-License-Identifier: MIT
#include "linesource.h"

#include "util/jsontocbor.h"

namespace taskfleet::sched {

QCborValue LineSource::parseLine(const QByteArray &trimmedLine)
{
    QCborValue v;
    QString ignored;
    if (util::parseJsonExact(trimmedLine, &v, &ignored))
        return v;
    return QCborValue(QString::fromUtf8(trimmedLine));
}

std::shared_ptr<const LineSource> LineSource::open(const QString &path, qint64 maxLines, QString *error)
{
    auto source = std::make_shared<LineSource>();
    source->m_path = path;
    source->m_file.setFileName(path);
    if (!source->m_file.open(QIODevice::ReadOnly)) {
        *error = QStringLiteral("cannot read %1: %2").arg(path, source->m_file.errorString());
        return nullptr;
    }
    // One pass in blocks: note where each line with something besides white space starts.
    constexpr qint64 Block = 1 << 20;
    qint64 lineStart = 0;
    bool lineHasText = false;
    qint64 offset = 0;
    for (;;) {
        const QByteArray block = source->m_file.read(Block);
        if (block.isEmpty())
            break;
        for (qsizetype k = 0; k < block.size(); ++k) {
            const char c = block.at(k);
            if (c == '\n') {
                if (lineHasText)
                    source->m_starts.push_back(lineStart);
                lineStart = offset + k + 1;
                lineHasText = false;
            } else if (!lineHasText && c != ' ' && c != '\t' && c != '\r' && c != '\v' && c != '\f') {
                lineHasText = true;
            }
        }
        offset += block.size();
        if (qint64(source->m_starts.size()) > maxLines) {
            *error = QStringLiteral("more than %1 lines").arg(maxLines);
            return nullptr;
        }
    }
    if (source->m_file.error() != QFileDevice::NoError) {
        *error = QStringLiteral("cannot read %1: %2").arg(path, source->m_file.errorString());
        return nullptr;
    }
    if (lineHasText)
        source->m_starts.push_back(lineStart);
    if (qint64(source->m_starts.size()) > maxLines) {
        *error = QStringLiteral("more than %1 lines").arg(maxLines);
        return nullptr;
    }
    source->m_fileSize = offset;
    source->m_starts.shrink_to_fit();
    return source;
}

QCborValue LineSource::value(qsizetype i) const
{
    const qint64 start = m_starts[size_t(i)];
    // The line ends at its newline, and never later than where the next non-empty line starts.
    const qint64 bound = size_t(i) + 1 < m_starts.size() ? m_starts[size_t(i) + 1] : m_fileSize;
    QByteArray line;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_file.pos() != start && !m_file.seek(start))
            return {};
        line = m_file.read(bound - start);
    }
    const qsizetype newline = line.indexOf('\n');
    if (newline >= 0)
        line.truncate(newline);
    return parseLine(line.trimmed());
}

} // namespace taskfleet::sched
