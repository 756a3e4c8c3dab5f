// SPDX-License-Identifier: MIT
#include "jobinputs.h"

#include <algorithm>

namespace taskfleet::sched {

JobInputs JobInputs::range(qint64 start, qint64 step, qint64 count)
{
    JobInputs r;
    r.m_isRange = true;
    r.m_start = start;
    r.m_step = step;
    r.m_count = std::max<qint64>(count, 0);
    return r;
}

JobInputs JobInputs::lines(std::shared_ptr<const LineSource> source)
{
    JobInputs r;
    r.m_lines = std::move(source);
    return r;
}

QVector<QCborValue> JobInputs::toList() const
{
    if (isList())
        return m_list;
    QVector<QCborValue> out;
    out.reserve(size());
    for (qsizetype i = 0; i < size(); ++i)
        out.append(at(i));
    return out;
}

void JobInputs::append(const QCborValue &value)
{
    if (!isList())
        *this = JobInputs(toList());
    m_list.append(value);
}

void JobInputs::reserve(qsizetype n)
{
    if (isList())
        m_list.reserve(n);
}

JobInputs JobInputs::mid(qsizetype pos, qsizetype len) const
{
    const qsizetype n = size();
    pos = std::clamp<qsizetype>(pos, 0, n);
    len = len < 0 ? n - pos : std::min(len, n - pos);
    if (m_isRange)
        return range(rangeValue(pos), m_step, len);
    if (m_lines)
        return JobInputs(toList().mid(pos, len));
    return JobInputs(m_list.mid(pos, len));
}

bool JobInputs::operator==(const JobInputs &other) const
{
    if (size() != other.size())
        return false;
    if (isList() && other.isList())
        return m_list == other.m_list;
    if (m_isRange && other.m_isRange)
        return size() == 0 || (m_start == other.m_start && (size() == 1 || m_step == other.m_step));
    for (qsizetype i = 0; i < size(); ++i)
        if (at(i) != other.at(i))
            return false;
    return true;
}

} // namespace taskfleet::sched
