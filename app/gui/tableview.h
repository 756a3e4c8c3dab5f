// SPDX-License-Identifier: MIT
// The look every table in the window shares.
#pragma once

class QTableView;
class QWidget;

namespace taskfleet::gui {

/** The shared look: whole rows selected one at a time, no row numbers, alternating rows, no wrapping. */
void applyTableLook(QTableView *view);
/** A new QTableView with applyTableLook(). */
QTableView *makeTable(QWidget *parent);

} // namespace taskfleet::gui
