// SPDX-License-Identifier: MIT
// libFuzzer target: the journal reader on arbitrary bytes, keeping results and streaming them. Every refusal
// must be a message, never a crash or a hang, and what it accepts must hold together: a bit per input, every
// result in range, the results kept as many as the bits set, the results streamed as many again.
#include "sched/journal.h"

#include <QtCore/QBuffer>

using namespace taskfleet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    QByteArray bytes(reinterpret_cast<const char *>(data), qsizetype(size));
    qint64 kept = -1;
    for (const bool keep : {true, false}) {
        QBuffer buffer(&bytes);
        buffer.open(QIODevice::ReadOnly);
        QString error;
        QString warning;
        qint64 streamed = 0;
        const sched::JournalReader::ResultSink sink = [&](const sched::JournaledJob &job, const sched::TaskRecord &r) {
            if (r.index < 0 || r.index >= job.spec.inputs.size() || !job.done.testBit(r.index))
                __builtin_trap();
            ++streamed;
        };
        const auto jobs
            = sched::JournalReader::read(&buffer, QStringLiteral("fuzz.tfj"), keep,
                                         keep ? sched::JournalReader::ResultSink() : sink, &error, &warning);
        if (!jobs) {
            if (error.isEmpty())
                __builtin_trap(); // a refusal must say why
            continue;
        }
        qint64 done = 0;
        for (const sched::JournaledJob &job : *jobs) {
            if (job.done.size() != job.spec.inputs.size() || job.done.count(true) != job.doneCount)
                __builtin_trap();
            if (keep && job.results.size() != job.doneCount)
                __builtin_trap();
            for (auto it = job.results.cbegin(); it != job.results.cend(); ++it)
                if (it.key() != it->index || !job.done.testBit(it.key()))
                    __builtin_trap();
            done += job.doneCount;
        }
        if (keep)
            kept = done;
        else if (streamed > done || (kept >= 0 && done != kept))
            __builtin_trap(); // both ways read the same results
    }
    return 0;
}
