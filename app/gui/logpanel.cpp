// SPDX-License-Identifier: MIT
// The Log tab: one line per event, following new lines unless the user scrolled up.
#include "logpanel.h"

#include <QtCore/QDateTime>
#include <QtGui/QFontDatabase>
#include <QtWidgets/QScrollBar>

namespace taskfleet::gui {

LogPanel::LogPanel(QWidget *parent)
    : QPlainTextEdit(parent)
{
    setReadOnly(true);
    setMaximumBlockCount(5000);
    setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    QScrollBar *bar = verticalScrollBar();
    connect(bar, &QScrollBar::valueChanged, this, [this, bar](int value) {
        if (!m_adjusting)
            m_follows = value >= bar->maximum();
    });
    connect(bar, &QScrollBar::rangeChanged, this, [this, bar] {
        if (m_follows) {
            m_adjusting = true;
            bar->setValue(bar->maximum());
            m_adjusting = false;
        }
    });
}

void LogPanel::addLine(const QString &message)
{
    appendPlainText(QDateTime::currentDateTime().toString(QStringLiteral("HH:mm:ss  ")) + message);
}

} // namespace taskfleet::gui
