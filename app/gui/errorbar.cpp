// SPDX-License-Identifier: MIT
// The bar at the top of the window that says what went wrong, without a modal box.
#include "errorbar.h"

#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QLabel>
#include <QtWidgets/QToolButton>

namespace taskfleet::gui {

ErrorBar::ErrorBar(QWidget *parent)
    : QFrame(parent)
    , m_text(new QLabel(this))
{
    setObjectName(QStringLiteral("errorBar"));
    setStyleSheet(QStringLiteral("#errorBar { background: #fdecea; border: 1px solid #e57373; border-radius: 3px; }"
                                 "QLabel { color: #8e1c1c; }"));
    auto *layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 4, 4, 4);
    m_text->setWordWrap(true);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto *dismiss = new QToolButton(this);
    dismiss->setText(QStringLiteral("\u2715"));
    dismiss->setAutoRaise(true);
    connect(dismiss, &QToolButton::clicked, this, &QWidget::hide);
    layout->addWidget(m_text, 1);
    layout->addWidget(dismiss);
    hide();
}

void ErrorBar::showMessage(const QString &message)
{
    m_text->setText(message);
    show();
}

} // namespace taskfleet::gui
