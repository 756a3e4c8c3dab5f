// SPDX-License-Identifier: MIT
// The inputs of a {"lines": FILE} job, read from the file as tasks start.
#pragma once

#include <QtCore/QCborValue>
#include <QtCore/QFile>
#include <QtCore/QString>

#include <memory>
#include <mutex>
#include <vector>

namespace taskfleet::sched {

/**
 * One input per non-empty line of a text file: the line as JSON if it parses as JSON, otherwise
 * the (trimmed) text; JSON that names a key twice is refused (its task fails, saying so). open() reads the file once and keeps only where each line starts (8 bytes a
 * line, where the values were ~380 bytes a short line); value(i) reads line i again when its task
 * starts. The file stays open for the job's life, so a file replaced while the job runs (an editor
 * saving, a script writing a new one and renaming it) does not change the job's inputs; editing it
 * in place does. Thread-safe: the window reads inputs while the controller's thread does.
 */
class LineSource
{
public:
    /** Indexes \a path; nullptr and *error on failure (unreadable, or more than \a maxLines lines). */
    static std::shared_ptr<const LineSource> open(const QString &path, qint64 maxLines, QString *error);

    qsizetype size() const { return qsizetype(m_starts.size()); }
    QString path() const { return m_path; }
    /** The input of line \a i (0 <= i < size()); an undefined value if the file cannot be read now. A line
     *  that is JSON but names a key twice in an object is no input: an undefined value, and *refusal (if
     *  given) says which key, where, and on which line of the file. */
    QCborValue value(qsizetype i, QString *refusal = nullptr) const;
    /** How one line of the file becomes an input: JSON if it parses, else its text; *refusal is set for
     *  JSON that names a key twice (which value was meant cannot be known; the job file refuses it too). */
    static QCborValue parseLine(const QByteArray &trimmedLine, QString *refusal = nullptr);

private:
    /** The line number in the file (from 1) of input \a i: blank lines count too. */
    qint64 lineNumber(qsizetype i) const;

    QString m_path;
    std::vector<qint64> m_starts; ///< file offset of each non-empty line
    qint64 m_fileSize = 0;
    qint64 m_blankLines = 0;          ///< lines with nothing but white space (they are no input)
    mutable qint64 m_countedTo = 0;   ///< lineNumber(): newlines counted up to this offset...
    mutable qint64 m_countedLine = 1; ///< ...where this line starts
    mutable std::mutex m_mutex;
    mutable QFile m_file;
};

} // namespace taskfleet::sched
