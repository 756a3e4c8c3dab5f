// SPDX-License-Identifier: MIT
#include "linesource.h"

#include "util/jsontocbor.h"

#include <algorithm>

namespace taskfleet::sched {

QCborValue LineSource::parseLine(const QByteArray &trimmedLine, QString *refusal)
{
    QCborValue v;
    QString error;
    util::JsonReadOptions options;
    options.uniqueKeys = true;
    util::JsonRefusal why = util::JsonRefusal::NotJson;
    options.refusal = &why;
    if (util::parseJsonExact(trimmedLine, &v, &error, options))
        return v;
    if (why == util::JsonRefusal::DuplicateKey) {
        if (refusal)
            *refusal = error;
        return {};
    }
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
                else
                    ++source->m_blankLines;
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

QCborValue LineSource::value(qsizetype i, QString *refusal) const
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
    QString why;
    const QCborValue v = parseLine(line.trimmed(), &why);
    if (!why.isEmpty() && refusal) // the parser saw one line: its "line 1" is this one
        *refusal = QStringLiteral("%1, line %2, %3")
                       .arg(m_path)
                       .arg(lineNumber(i))
                       .arg(why.replace(QLatin1String("line 1, column"), QLatin1String("column")));
    return v;
}

qint64 LineSource::lineNumber(qsizetype i) const
{
    if (m_blankLines == 0)
        return i + 1;
    // Blank lines are not indexed: count the newlines before this line's start (only said in errors). The
    // controller asks in file order, so counting goes on from the last answer: one pass over the file in all.
    std::lock_guard<std::mutex> lock(m_mutex);
    const qint64 end = m_starts[size_t(i)];
    if (end < m_countedTo) {
        m_countedTo = 0;
        m_countedLine = 1;
    }
    if (!m_file.seek(m_countedTo))
        return i + 1;
    qint64 line = m_countedLine;
    qint64 at = m_countedTo;
    while (at < end) {
        const QByteArray block = m_file.read(std::min<qint64>(end - at, 1 << 20));
        if (block.isEmpty())
            break;
        line += block.count('\n');
        at += block.size();
    }
    m_countedTo = at;
    m_countedLine = line;
    return line;
}

} // namespace taskfleet::sched
