// SPDX-License-Identifier: MIT
// Help ▸ Manual: README.md and docs/*.md, embedded in the program and rendered as they are written.
#pragma once

#include <QtWidgets/QDialog>

class QTextBrowser;

namespace taskfleet::gui {

/**
 * A non-modal window showing the manual: the README and the docs folder, compiled into the program
 * (resource prefix manualRoot()), so the manual is there without a network or an installed docs
 * package and always matches the program. Relative links between the documents work; links to the
 * web open in the browser. Back and Home as in any help viewer.
 */
class ManualWindow : public QDialog
{
    Q_OBJECT

public:
    explicit ManualWindow(QWidget *parent = nullptr);

    /** "qrc:/taskfleet/manual/": README.md is there, the docs under docs/. */
    static QUrl manualRoot();
    /** Shows \a document (relative to manualRoot(), e.g. "docs/gui.md"). */
    void showDocument(const QString &document);
    QTextBrowser *browser() const { return m_browser; }

private:
    QTextBrowser *m_browser;
};

} // namespace taskfleet::gui
