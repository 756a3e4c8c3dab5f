// SPDX-License-Identifier: MIT
// The first start's bar: what can be dropped on the window, and the most telling examples as buttons.
#pragma once

#include <QtWidgets/QFrame>

namespace taskfleet::gui {

/**
 * "Drop job files, Python scripts or task plugins here, or try an example:" with three examples as buttons
 * (objectName "example_NAME") and the others in a "More examples" menu, so the bar fits a 1024 px screen.
 * The window hides it once a job is queued.
 */
class WelcomeBar : public QFrame
{
    Q_OBJECT

public:
    explicit WelcomeBar(QWidget *parent = nullptr);

signals:
    /** The user picked the embedded example job file \a fileName. */
    void exampleChosen(const QString &fileName);
};

} // namespace taskfleet::gui
