// SPDX-License-Identifier: MIT
// libFuzzer target: the job-file parser on arbitrary text (every refusal must be a message, never a crash).
#include "sched/jobfile.h"

#include <QtCore/QTemporaryDir>

using namespace taskfleet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static QTemporaryDir dir;
    static const exec::PluginRegistry registry {QStringList {QStringLiteral(TF_PLUGIN_DIR)}};
    const QByteArray json(reinterpret_cast<const char *>(data), qsizetype(size));
    QString error;
    const auto spec = sched::parseJobJson(json, QStringLiteral("fuzz.json"), dir.path(), registry, &error);
    if (!spec && error.isEmpty())
        __builtin_trap(); // a refusal must say why
    return 0;
}
