// SPDX-License-Identifier: MIT
// A Qt plugin whose library aborts as it is loaded (a static initialiser): what a broken plugin does to
// a worker told to preload it (tst_workerpool).
#include <QtCore/QObject>
#include <QtCore/QtPlugin>

#include <cstdlib>

namespace {
[[maybe_unused]] const int crashNow = (std::abort(), 0);
}

class CrashOnLoad : public QObject
{
    Q_OBJECT
    Q_PLUGIN_METADATA(IID "org.taskfleet.TaskPlugin/1.0")
};

#include "crashonload.moc"
