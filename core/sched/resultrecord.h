// SPDX-License-Identifier: MIT
// The JSON Lines record of one task's result: one format for taskfleet-run -o and the window's exports.
#pragma once

#include "controller.h"
#include "util/jsonwriter.h"

#include <QtCore/QByteArray>
#include <QtCore/QCborValue>

namespace taskfleet::sched {

/**
 * Appends a result record's fields and its end to \a out, after the caller's "{" (and any fields of its own):
 * index, input, output (or error and status), node, seconds, attempts, stdout when the task printed, "}\n".
 * Values go through util::appendJson, so NaN, infinities and big integers are written exactly.
 */
void appendResultFields(QByteArray &out, const QCborValue &input, const TaskRecord &r,
                        const util::JsonSpill &spill = {});

} // namespace taskfleet::sched
