// SPDX-License-Identifier: MIT
// The first start's bar: what can be dropped on the window, and the most telling examples as buttons.
#include "welcomebar.h"

#include "jobsources.h"

#include <QtCore/QFileInfo>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QLabel>
#include <QtWidgets/QMenu>
#include <QtWidgets/QPushButton>

namespace taskfleet::gui {

WelcomeBar::WelcomeBar(QWidget *parent)
    : QFrame(parent)
{
    setObjectName(QStringLiteral("welcomeBar"));
    setFrameShape(QFrame::StyledPanel);
    setStyleSheet(QStringLiteral("QFrame { background: palette(alternate-base); }"));
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 4, 8, 4);
    auto *text = new QLabel(tr("Drop job files, Python scripts or task plugins here, or try an example:"), this);
    text->setWordWrap(true); // two lines rather than a window wider than a 1024 px screen
    text->setMinimumWidth(text->fontMetrics().horizontalAdvance(text->text()) / 2 + 8);
    layout->addWidget(text, 1);
    // The three most telling examples as buttons, the others in a menu: the bar fits 1024 px.
    const QStringList first
        = {QStringLiteral("mandelbrot.json"), QStringLiteral("sum_primes.json"), QStringLiteral("pi.json")};
    QMenu *more = nullptr;
    const QStringList jobs = jobsources::exampleJobs();
    for (const QString &name : jobs) {
        if (!first.contains(name)) {
            if (!more)
                more = new QMenu(this);
            more->addAction(jobsources::exampleTitle(name), this, [this, name] { emit exampleChosen(name); });
            continue;
        }
        auto *button = new QPushButton(jobsources::exampleTitle(name, true), this);
        button->setToolTip(jobsources::exampleTitle(name));
        button->setObjectName(QStringLiteral("example_") + QFileInfo(name).completeBaseName());
        connect(button, &QPushButton::clicked, this, [this, name] { emit exampleChosen(name); });
        layout->addWidget(button);
    }
    if (more) {
        auto *button = new QPushButton(tr("More examples"), this);
        button->setObjectName(QStringLiteral("moreExamples"));
        button->setMenu(more);
        layout->addWidget(button);
    }
}

} // namespace taskfleet::gui
