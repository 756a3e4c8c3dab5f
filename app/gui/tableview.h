// SPDX-License-Identifier: MIT
// The look every table in the window shares.
#pragma once

class QTableView;
class QWidget;

namespace taskfleet::gui {

/** A read-mostly table: whole rows selected one at a time, no row numbers, alternating rows, no wrapping. */
QTableView *makeTable(QWidget *parent);

} // namespace taskfleet::gui
