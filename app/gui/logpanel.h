// SPDX-License-Identifier: MIT
// The Log tab: one line per event, following new lines unless the user scrolled up.
#pragma once

#include <QtWidgets/QPlainTextEdit>

namespace taskfleet::gui {

/**
 * A read-only, fixed-width log of at most 5,000 lines, each stamped with the time. It keeps showing
 * the newest line unless the user scrolled up; scrolling back to the end follows again. What decides
 * is where the user left the scroll bar, not where it is after a resize (an error bar appearing
 * shrinks the view and used to stop the following).
 */
class LogPanel : public QPlainTextEdit
{
    Q_OBJECT

public:
    explicit LogPanel(QWidget *parent = nullptr);

    /** Appends "HH:mm:ss  message". */
    void addLine(const QString &message);
    /** True while the view follows new lines. */
    bool follows() const { return m_follows; }

private:
    bool m_follows = true;
    bool m_adjusting = false; ///< the panel, not the user, is moving the scroll bar
};

} // namespace taskfleet::gui
