// SPDX-License-Identifier: MIT
// The look every table in the window shares.
#include "tableview.h"

#include <QtWidgets/QHeaderView>
#include <QtWidgets/QTableView>

namespace taskfleet::gui {

QTableView *makeTable(QWidget *parent)
{
    auto *view = new QTableView(parent);
    applyTableLook(view);
    return view;
}

void applyTableLook(QTableView *view)
{
    view->setSelectionBehavior(QAbstractItemView::SelectRows);
    view->setSelectionMode(QAbstractItemView::SingleSelection);
    view->verticalHeader()->hide();
    view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 10);
    view->horizontalHeader()->setHighlightSections(false);
    view->setAlternatingRowColors(true);
    view->setWordWrap(false);
}

} // namespace taskfleet::gui
