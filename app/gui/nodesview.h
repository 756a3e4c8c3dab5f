// SPDX-License-Identifier: MIT
// The Nodes table: every node with its workers (editable), load, tasks and failures.
#pragma once

#include <QtWidgets/QTableView>

namespace taskfleet::gui {

class NodesModel;

/**
 * A table over NodesModel: numbers as wide as they need, the state (with its reason) taking the spare
 * width, the Workers column edited in a spin box (double-click), and \a contextActions (reconnect,
 * drain, remove) on right-click.
 */
class NodesView : public QTableView
{
    Q_OBJECT

public:
    NodesView(NodesModel *model, const QList<QAction *> &contextActions, QWidget *parent = nullptr);
    /** The row selected, or -1. */
    int selectedRow() const;
};

} // namespace taskfleet::gui
