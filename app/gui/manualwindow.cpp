// SPDX-License-Identifier: MIT
#include "manualwindow.h"

#include <QtCore/QUrl>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QTextBrowser>
#include <QtWidgets/QVBoxLayout>

namespace taskfleet::gui {

ManualWindow::ManualWindow(QWidget *parent)
    : QDialog(parent)
    , m_browser(new QTextBrowser(this))
{
    setWindowTitle(tr("Manual"));
    m_browser->setOpenExternalLinks(true); // http(s) links: the system browser; relative ones stay here
    auto *back = new QPushButton(tr("Back"), this);
    auto *home = new QPushButton(tr("Home"), this);
    back->setEnabled(false);
    connect(back, &QPushButton::clicked, m_browser, &QTextBrowser::backward);
    connect(home, &QPushButton::clicked, this, [this] { showDocument(QStringLiteral("README.md")); });
    connect(m_browser, &QTextBrowser::backwardAvailable, back, &QPushButton::setEnabled);
    connect(m_browser, &QTextBrowser::sourceChanged, this,
            [this](const QUrl &url) { setWindowTitle(tr("Manual: %1").arg(url.fileName())); });
    auto *buttons = new QHBoxLayout;
    buttons->addWidget(back);
    buttons->addWidget(home);
    buttons->addStretch(1);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(buttons);
    layout->addWidget(m_browser, 1);
    resize(900, 760);
    showDocument(QStringLiteral("README.md"));
}

QUrl ManualWindow::manualRoot()
{
    return QUrl(QStringLiteral("qrc:/taskfleet/manual/"));
}

void ManualWindow::showDocument(const QString &document)
{
    // QTextBrowser reads a ".md" source as Markdown.
    m_browser->setSource(manualRoot().resolved(QUrl(document)));
}

} // namespace taskfleet::gui
