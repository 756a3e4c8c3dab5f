// SPDX-License-Identifier: MIT
#include "resultrecord.h"

namespace taskfleet::sched {

void appendResultFields(QByteArray &out, const QCborValue &input, const TaskRecord &r, const util::JsonSpill &spill)
{
    out.append("\"index\":");
    out.append(QByteArray::number(r.index));
    out.append(",\"input\":");
    util::appendJson(out, input, spill);
    if (r.status == stats::TaskStatus::Ok) {
        out.append(",\"output\":");
        util::appendJson(out, r.output, spill);
    } else {
        out.append(",\"error\":");
        util::appendJsonString(out, r.error);
        out.append(",\"status\":");
        util::appendJsonString(out, stats::taskStatusName(r.status));
    }
    out.append(",\"node\":");
    util::appendJsonString(out, r.nodeName);
    out.append(",\"seconds\":");
    out.append(QByteArray::number(double(r.runtimeUs) / 1e6, 'f', 6));
    out.append(",\"attempts\":");
    out.append(QByteArray::number(r.attempts));
    if (!r.log.isEmpty()) {
        out.append(",\"stdout\":");
        util::appendJsonString(out, r.log);
    }
    out.append("}\n");
}

} // namespace taskfleet::sched
