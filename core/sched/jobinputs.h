// SPDX-License-Identifier: MIT
// A job's inputs: an explicit list, a range of integers made on demand, or the lines of a file read on demand.
#pragma once

#include "linesource.h"

#include <QtCore/QCborValue>
#include <QtCore/QVector>

#include <initializer_list>
#include <memory>

namespace taskfleet::sched {

/**
 * The inputs of a job, one per task: an explicit list of values, an integer range whose values are
 * computed when asked for, or the lines of a text file read when asked for (LineSource). A range of
 * 100 million inputs is three numbers, not 100 million QCborValues (24 bytes each) held for the
 * whole job, and the journal stores it as three numbers too; a file of lines costs 8 bytes a line.
 * Copies are cheap (the list is implicitly shared, the file source shared) and read-only copies
 * are thread-safe.
 */
class JobInputs
{
public:
    JobInputs() = default;
    JobInputs(QVector<QCborValue> list) // implicit: most jobs are lists, and so are most call sites
        : m_list(std::move(list))
    {
    }
    JobInputs(std::initializer_list<QCborValue> list)
        : m_list(list)
    {
    }
    /** start, start + step, ... : \a count values; the caller has checked they all fit in 64 bits. */
    static JobInputs range(qint64 start, qint64 step, qint64 count);
    /** One input per non-empty line of an indexed file (LineSource::open). */
    static JobInputs lines(std::shared_ptr<const LineSource> source);

    qsizetype size() const { return m_isRange ? m_count : m_lines ? m_lines->size() : m_list.size(); }
    bool isEmpty() const { return size() == 0; }
    /** The input of task \a i (0 <= i < size()). */
    QCborValue at(qsizetype i) const
    {
        return m_isRange ? QCborValue(rangeValue(i)) : m_lines ? m_lines->value(i) : m_list.at(i);
    }
    /** at(i); for a lines job, *refusal says why line i is no input (JSON naming a key twice). */
    QCborValue at(qsizetype i, QString *refusal) const { return m_lines ? m_lines->value(i, refusal) : at(i); }
    /** at(i), or an undefined value out of range. */
    QCborValue value(qsizetype i) const { return i >= 0 && i < size() ? at(i) : QCborValue(); }
    QCborValue first() const { return value(0); }

    bool isRange() const { return m_isRange; }
    /** The file a lines job reads, or null. */
    const LineSource *lineSource() const { return m_lines.get(); }
    /** Whether the values are held (a list), not made or read when asked for. */
    bool isList() const { return !m_isRange && !m_lines; }
    qint64 rangeStart() const { return m_start; }
    qint64 rangeStep() const { return m_step; }
    /** The explicit values (empty for a range or lines). */
    const QVector<QCborValue> &list() const { return m_list; }
    /** Every value, made (a range's too): for small jobs and tests. */
    QVector<QCborValue> toList() const;

    /** Appends to the list; a range or lines are made into one first. */
    void append(const QCborValue &value);
    void reserve(qsizetype n);
    void clear() { *this = JobInputs(); }
    /** Inputs pos .. pos+len-1 (len < 0: to the end), a range staying a range (lines become a list). */
    JobInputs mid(qsizetype pos, qsizetype len = -1) const;

    /** Same values in the same order, whichever the form. */
    bool operator==(const JobInputs &other) const;
    bool operator!=(const JobInputs &other) const { return !(*this == other); }

private:
    // In unsigned arithmetic: step * i may pass 64 bits where start + step * i does not (start -9e18,
    // step 1e18); wrapping modulo 2^64 then gives the exact value, with no signed overflow.
    qint64 rangeValue(qsizetype i) const { return qint64(quint64(m_start) + quint64(m_step) * quint64(i)); }

    QVector<QCborValue> m_list;
    std::shared_ptr<const LineSource> m_lines;
    qint64 m_start = 0;
    qint64 m_step = 1;
    qint64 m_count = 0;
    bool m_isRange = false;
};

} // namespace taskfleet::sched
