// SPDX-License-Identifier: MIT
#include "hostinfo.h"

#include <QtCore/QFile>
#include <QtCore/QSysInfo>
#include <QtCore/QThread>

#include <cstdlib>

namespace taskfleet::util {

bool parseMemInfo(const QByteArray &text, qint64 *totalBytes, qint64 *availableBytes)
{
    qint64 total = -1, available = -1;
    for (const QByteArray &line : text.split('\n')) {
        // "MemTotal:       16314572 kB"
        const qsizetype colon = line.indexOf(':');
        if (colon < 0)
            continue;
        const QByteArray key = line.left(colon);
        if (key != "MemTotal" && key != "MemAvailable")
            continue;
        QByteArray value = line.mid(colon + 1).trimmed();
        qint64 scale = 1;
        if (value.endsWith(" kB")) {
            value.chop(3);
            scale = 1024;
        }
        bool ok = false;
        const qint64 n = value.trimmed().toLongLong(&ok);
        if (!ok || n < 0 || n > (qint64(1) << 50))
            continue;
        (key == "MemTotal" ? total : available) = n * scale;
    }
    if (total < 0 || available < 0 || available > total)
        return false;
    *totalBytes = total;
    *availableBytes = available;
    return true;
}

HostInfo readHostInfo()
{
    HostInfo h;
    double load[1] = {-1};
    if (getloadavg(load, 1) == 1)
        h.load = load[0];
    QFile meminfo(QStringLiteral("/proc/meminfo"));
    qint64 total = 0, available = 0;
    if (meminfo.open(QIODevice::ReadOnly) && parseMemInfo(meminfo.readAll(), &total, &available)) {
        h.memTotal = total;
        h.memUsed = total - available;
    }
    h.cores = QThread::idealThreadCount();
    // prettyProductName() reads /etc/os-release: once per process, not at every refresh.
    static const QString os
        = QStringLiteral("%1, %2 %3")
              .arg(QSysInfo::prettyProductName(), QSysInfo::kernelType(), QSysInfo::kernelVersion());
    h.os = os;
#ifdef TASKFLEET_VERSION
    h.version = QStringLiteral(TASKFLEET_VERSION);
#endif
    return h;
}

QString formatMemory(qint64 used, qint64 total)
{
    if (used < 0 || total <= 0)
        return {};
    constexpr double GB = 1024.0 * 1024.0 * 1024.0;
    return QStringLiteral("%1 / %2 GB").arg(double(used) / GB, 0, 'f', 1).arg(double(total) / GB, 0, 'f', 1);
}

} // namespace taskfleet::util
