// SPDX-License-Identifier: MIT
// The status bar's standing words: the cluster in one line, how agents join, what discovery rejected.
#include "statusline.h"

#include "format.h"
#include "nodesmodel.h"

#include <QtWidgets/QLabel>
#include <QtWidgets/QStatusBar>

namespace taskfleet::gui {

StatusLine::StatusLine(QStatusBar *bar)
    : QObject(bar)
    , m_summary(new QLabel(bar))
    , m_agents(new QLabel(bar))
    , m_discovery(new QLabel(bar))
{
    bar->addWidget(m_summary, 1);
    // How agents join, always in view (not only in the Log tab).
    m_agents->setObjectName(QStringLiteral("agentsHint"));
    m_agents->setTextFormat(Qt::RichText);
    connect(m_agents, &QLabel::linkActivated, this, &StatusLine::linkActivated);
    bar->addPermanentWidget(m_agents);
    m_discovery->setObjectName(QStringLiteral("discoveryRejections"));
    m_discovery->setStyleSheet(QStringLiteral("QLabel { color: #b26a00; }"));
    m_discovery->hide();
    bar->addPermanentWidget(m_discovery);
}

void StatusLine::setSummary(const NodesModel *nodes, qint64 activeJobs)
{
    // From the table's totals row, so the status bar and the table always agree.
    const sched::NodeSnapshot &total = nodes->totals();
    const int gone = nodes->goneCount();
    const QString count = countOf(nodes->nodes().size() - gone, tr("node"), tr("nodes"))
                          + (gone ? tr(" (+%1 gone)").arg(gone) : QString());
    m_summary->setText(tr("%1 · %2 of %3 busy · %4 done · %5 tasks/s · %6 active")
                           .arg(count)
                           .arg(total.busy)
                           .arg(countOf(total.workers, tr("worker"), tr("workers")))
                           .arg(countOf(total.tasksDone, tr("task"), tr("tasks")))
                           .arg(formatRate(total.tasksPerSecond))
                           .arg(countOf(activeJobs, tr("job"), tr("jobs"))));
}

void StatusLine::setAgentsHint(const QString &html, bool warning, const QString &why)
{
    m_agents->setText(html);
    m_agents->setStyleSheet(warning ? QStringLiteral("QLabel { color: #b26a00; }") : QString());
    m_agents->setToolTip(
        (why.isEmpty() ? QString() : why + QStringLiteral("\n\n"))
        + tr("Agents on other machines (taskfleet-agent) join this window by discovery on the LAN when they "
             "have the same cluster secret, or by Nodes ▸ Add Node… with their address."));
}

void StatusLine::setDiscoveryRejections(const QString &summary)
{
    m_discovery->setText(summary);
    m_discovery->setToolTip(tr("Agents that discovery rejected (see the Log tab). Set the same cluster secret on "
                               "them and here (File ▸ Settings) to use them."));
    m_discovery->setVisible(!summary.isEmpty());
}

} // namespace taskfleet::gui
