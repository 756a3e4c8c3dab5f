// SPDX-License-Identifier: MIT
// The bar at the top of the window that says what went wrong, without a modal box.
#pragma once

#include <QtWidgets/QFrame>

class QLabel;

namespace taskfleet::gui {

/** A non-modal message bar (objectName "errorBar"): a bad file never blocks the window (or a test). */
class ErrorBar : public QFrame
{
    Q_OBJECT

public:
    explicit ErrorBar(QWidget *parent = nullptr);
    /** Shows \a message (selectable) until the user dismisses it or another comes. */
    void showMessage(const QString &message);

private:
    QLabel *m_text;
};

} // namespace taskfleet::gui
