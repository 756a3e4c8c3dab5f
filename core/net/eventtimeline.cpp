// SPDX-License-Identifier: MIT
// TASKFLEET_TIMELINE: one line per link event, appended with a single write().
#include "eventtimeline.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

namespace taskfleet::net {

namespace {
int timelineFd()
{
    static const int fd = [] {
        const QByteArray path = qgetenv("TASKFLEET_TIMELINE");
        if (path.isEmpty())
            return -1;
        return ::open(path.constData(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    }();
    return fd;
}
} // namespace

bool timelineEnabled()
{
    return timelineFd() >= 0;
}

void timelineEvent(const char *side, const QString &node, const char *event, const QByteArray &detail)
{
    const int fd = timelineFd();
    if (fd < 0)
        return;
    timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    QByteArray line = QByteArray::number(qint64(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000);
    line += ' ';
    line += side;
    line += ' ';
    line += node.toUtf8();
    line += ' ';
    line += event;
    if (!detail.isEmpty()) {
        line += ' ';
        line += detail;
    }
    line += '\n';
    const ssize_t written = ::write(fd, line.constData(), size_t(line.size()));
    Q_UNUSED(written); // a measuring aid: a failed write loses one line, nothing else
}

} // namespace taskfleet::net
