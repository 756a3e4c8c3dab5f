// SPDX-License-Identifier: MIT
// The two questions the window asks: quit with jobs unfinished, and resume what an earlier session left.
#include "windowprompts.h"

#include "format.h"
#include "joblifecycle.h"

#include <QtCore/QCoreApplication>
#include <QtWidgets/QMessageBox>
#include <QtWidgets/QPushButton>

namespace taskfleet::gui {

namespace {
QString tr(const char *text)
{
    return QCoreApplication::translate("taskfleet::gui::MainWindow", text);
}
} // namespace

bool askToQuit(QWidget *parent, int running, bool journaled)
{
    QMessageBox box(QMessageBox::Warning, tr("Quit"),
                    tr("%1 not finished. Quit anyway?").arg(countOf(running, tr("job is"), tr("jobs are"))),
                    QMessageBox::NoButton, parent);
    box.setInformativeText(
        journaled ? tr("They stay in the journal: the next start offers to resume them.")
                  : tr("Their tasks that have not run yet are lost; results so far can be exported first."));
    QPushButton *quit = box.addButton(tr("Quit"), QMessageBox::DestructiveRole);
    box.addButton(QMessageBox::Cancel);
    box.setDefaultButton(QMessageBox::Cancel);
    box.setObjectName(QStringLiteral("quitQuestion"));
    box.exec();
    return box.clickedButton() == quit;
}

void askToResume(QWidget *parent, JobLifecycle *jobs)
{
    const int count = jobs->leftoverJobs();
    if (count == 0)
        return;
    QMessageBox box(QMessageBox::Question, tr("Resume Jobs"),
                    tr("%1 did not finish when Taskfleet last ended. Resume %2?")
                        .arg(countOf(count, tr("job"), tr("jobs")), count == 1 ? tr("it") : tr("them")),
                    QMessageBox::NoButton, parent);
    box.setInformativeText(jobs->leftoverLines().join(QLatin1Char('\n')));
    QPushButton *resume = box.addButton(tr("Resume"), QMessageBox::AcceptRole);
    QPushButton *discard = box.addButton(tr("Discard"), QMessageBox::DestructiveRole);
    box.addButton(tr("Later"), QMessageBox::RejectRole);
    box.setDefaultButton(resume);
    box.setObjectName(QStringLiteral("resumeQuestion"));
    box.exec();
    if (box.clickedButton() == resume)
        jobs->resumeLeftovers();
    else if (box.clickedButton() == discard)
        jobs->discardLeftovers();
    else
        jobs->postponeLeftovers(); // asked again at the next start
}

} // namespace taskfleet::gui
