// SPDX-License-Identifier: MIT
// The Nodes table: every node with its workers (editable), load, tasks and failures.
#pragma once

#include <QtWidgets/QTableView>

#include <array>

namespace taskfleet::gui {

class NodesModel;

/**
 * A table over NodesModel: numbers as wide as they need, the load and memory with a sparkline of the last
 * minutes (SparklineDelegate), the state (with its reason) taking the spare
 * width, the Workers column edited in a spin box (double-click), and \a contextActions (reconnect,
 * drain, remove) on right-click. When the view is too narrow for every column (a 1024-pixel screen),
 * the least needed ones step aside, in this order: address, % of all, time per task, memory, load,
 * lost; the name's tooltip still has the address and the machine. They come back when there is room.
 */
class NodesView : public QTableView
{
    Q_OBJECT

public:
    NodesView(NodesModel *model, const QList<QAction *> &contextActions, QWidget *parent = nullptr);
    /** The row selected, or -1. */
    int selectedRow() const;
    /** Columns hidden for want of width, in the order they went. */
    QList<int> columnsSetAside() const;

protected:
    void resizeEvent(QResizeEvent *event) override;

private:
    /** Hides or shows the optional columns so that the rest fit the viewport's width. */
    void fitColumns();

    std::array<int, 16> m_headerWidths {}; ///< each header's width when its column was last shown
};

} // namespace taskfleet::gui
