// SPDX-License-Identifier: MIT
#include "workerprotocol.h"

#include "protocol/frame.h"
#include "protocol/messagereader.h"
#include "util/sha256.h"

#include <algorithm>
#include <QtCore/QCborArray>
#include <QtCore/QCborStreamWriter>

namespace taskfleet::exec {

QString outcomeName(Outcome o)
{
    switch (o) {
    case Outcome::Ok:
        return QStringLiteral("ok");
    case Outcome::PluginError:
        return QStringLiteral("error");
    case Outcome::Crashed:
        return QStringLiteral("crashed");
    case Outcome::TimedOut:
        return QStringLiteral("timeout");
    case Outcome::LoadFailed:
        return QStringLiteral("load-failed");
    case Outcome::Cancelled:
        return QStringLiteral("cancelled");
    case Outcome::Lost:
        return QStringLiteral("lost");
    }
    return QStringLiteral("unknown");
}

JobParametersPtr makeJobParameters(const QCborValue &value)
{
    if (value.isNull() || value.isUndefined() || value.isInvalid())
        return nullptr;
    auto p = std::make_shared<JobParameters>();
    const QByteArray encoded = value.toCbor();
    p->id = util::sha256Hex(encoded);
    p->value = value;
    p->encodedSize = encoded.size();
    return p;
}

bool ParametersLru::touch(const QByteArray &id, qint64 bytes)
{
    m_evicted.clear();
    const qsizetype at = m_ids.indexOf(id);
    const bool held = at >= 0;
    if (held) {
        m_bytes -= m_sizes.takeAt(at);
        m_ids.removeAt(at);
    }
    m_ids.append(id);
    m_sizes.append(std::max<qint64>(0, bytes));
    m_bytes += m_sizes.last();
    while (m_ids.size() > 1 && (m_ids.size() > Capacity || m_bytes > m_byteCapacity)) {
        m_evicted.append(m_ids.takeFirst());
        m_bytes -= m_sizes.takeFirst();
    }
    return held;
}

QCborMap encodeRun(const WorkBatch &batch)
{
    QCborArray items;
    for (const WorkItem &item : batch.items) {
        items.append(qint64(item.id));
        items.append(item.input);
    }
    QCborMap m;
    m.insert(QStringLiteral("t"), wire::Run);
    m.insert(QStringLiteral("p"), batch.pluginPath);
    m.insert(QStringLiteral("to"), batch.timeoutMs);
    m.insert(QStringLiteral("k"), items);
    if (batch.parameters) {
        m.insert(QStringLiteral("pi"), QString::fromLatin1(batch.parameters->id));
        m.insert(QStringLiteral("pz"), batch.parameters->encodedSize);
        if (batch.withParametersValue)
            m.insert(QStringLiteral("pv"), batch.parameters->value);
    }
    return m;
}

void appendRunFrame(QByteArray &out, const WorkBatch &batch)
{
    protocol::appendFrameWith(out, [&batch](QCborStreamWriter &w) {
        const bool parameters = bool(batch.parameters);
        w.startMap(4 + (parameters ? 2 : 0) + (parameters && batch.withParametersValue ? 1 : 0));
        w.append(QLatin1String("t"));
        w.append(wire::Run);
        w.append(QLatin1String("p"));
        w.append(batch.pluginPath);
        w.append(QLatin1String("to"));
        w.append(qint64(batch.timeoutMs));
        w.append(QLatin1String("k"));
        w.startArray(quint64(batch.items.size()) * 2);
        for (const WorkItem &item : batch.items) {
            w.append(qint64(item.id));
            item.input.toCbor(w);
        }
        w.endArray();
        if (parameters) {
            w.append(QLatin1String("pi"));
            w.append(QLatin1String(batch.parameters->id));
            w.append(QLatin1String("pz"));
            w.append(batch.parameters->encodedSize);
            if (batch.withParametersValue) {
                w.append(QLatin1String("pv"));
                batch.parameters->value.toCbor(w);
            }
        }
        w.endMap();
    });
}

bool decodeRun(const QCborMap &message, WorkBatch *batch, QString *error)
{
    protocol::MessageReader r(message);
    batch->pluginPath = r.string("p");
    batch->timeoutMs = r.integer("to", 0);
    const QCborArray items = r.array("k");
    batch->parametersId = message.value(QStringLiteral("pi")).toString().toLatin1();
    batch->parametersSize = r.integerOr("pz", 0, 0, qint64(1) << 40);
    batch->hasParametersValue = message.contains(QStringLiteral("pv"));
    batch->parametersValue = message.value(QStringLiteral("pv"));
    if (batch->hasParametersValue && batch->parametersId.isEmpty())
        r.fail(QStringLiteral("job parameters without an id"));
    if (items.size() % 2 != 0)
        r.fail(QStringLiteral("field \"k\" must hold id/input pairs"));
    if (!r.ok()) {
        *error = r.error();
        return false;
    }
    batch->items.clear();
    batch->items.reserve(items.size() / 2);
    for (qsizetype i = 0; i + 1 < items.size(); i += 2) {
        if (!items.at(i).isInteger()) {
            *error = QStringLiteral("task id is not an integer");
            return false;
        }
        batch->items.append(WorkItem {quint64(items.at(i).toInteger()), items.at(i + 1)});
    }
    return true;
}

QCborMap encodeResults(const QVector<WorkResult> &results)
{
    QCborArray flat;
    for (const WorkResult &r : results) {
        flat.append(qint64(r.id));
        flat.append(int(r.outcome));
        flat.append(r.outcome == Outcome::Ok ? r.output : QCborValue(r.error));
        flat.append(r.runtimeUs);
    }
    QCborMap m;
    m.insert(QStringLiteral("t"), wire::Results);
    m.insert(QStringLiteral("r"), flat);
    return m;
}

bool decodeResults(const QCborMap &message, QVector<WorkResult> *results, QString *error)
{
    protocol::MessageReader r(message);
    const QCborArray flat = r.array("r");
    if (!r.ok() || flat.size() % 4 != 0) {
        *error = r.ok() ? QStringLiteral("field \"r\" must hold groups of four") : r.error();
        return false;
    }
    results->reserve(results->size() + flat.size() / 4);
    for (qsizetype i = 0; i < flat.size(); i += 4) {
        const QCborValue id = flat.at(i);
        const QCborValue outcome = flat.at(i + 1);
        const QCborValue runtime = flat.at(i + 3);
        if (!id.isInteger() || !outcome.isInteger() || !runtime.isInteger() || outcome.toInteger() < 0
            || outcome.toInteger() > int(Outcome::Lost)) {
            *error = QStringLiteral("malformed result entry %1").arg(i / 4);
            return false;
        }
        WorkResult w;
        w.id = quint64(id.toInteger());
        w.outcome = Outcome(outcome.toInteger());
        if (w.outcome == Outcome::Ok)
            w.output = flat.at(i + 2);
        else
            w.error = flat.at(i + 2).toString();
        w.runtimeUs = runtime.toInteger();
        results->append(std::move(w));
    }
    return true;
}

} // namespace taskfleet::exec
