// SPDX-License-Identifier: MIT
// The status bar's standing words: the cluster in one line, how agents join, what discovery rejected.
#pragma once

#include <QtCore/QObject>

class QLabel;
class QStatusBar;

namespace taskfleet::gui {

class NodesModel;

/**
 * Three labels in a status bar: the cluster summary ("2 nodes · 3 of 8 workers busy · 120 tasks done ·
 * 14.2 tasks/s · 1 job active", from the Nodes table's totals row so both agree), how agents join (objectName
 * "agentsHint", rich text whose links "settings" and "add" come out as linkActivated()), and discovery's
 * rejections (objectName "discoveryRejections", hidden while there are none).
 */
class StatusLine : public QObject
{
    Q_OBJECT

public:
    explicit StatusLine(QStatusBar *bar);
    void setSummary(const NodesModel *nodes, qint64 activeJobs);
    void setAgentsHint(const QString &html, bool warning, const QString &why);
    void setDiscoveryRejections(const QString &summary);

signals:
    void linkActivated(const QString &link);

private:
    QLabel *m_summary;
    QLabel *m_agents;
    QLabel *m_discovery;
};

} // namespace taskfleet::gui
