// SPDX-License-Identifier: MIT
// Helpers shared by the GUI test suites: windows made the way the tests need them, job files, drops, agents
// started without discovery, and bounded waits for nodes and jobs.
#pragma once

#include "mainwindow.h"
#include "sched/journal.h"
#include "sched/node.h"
#include "sched/snapshot.h"

#include <QtCore/QMap>
#include <QtCore/QString>
#include <QtCore/QStringList>
#include <QtCore/QTemporaryDir>
#include <QtCore/QVector>

#include <memory>

class QAction;
class QWidget;

namespace taskfleet::test {
class AgentProcess;
}

namespace taskfleet::guitest {

/** How long a test waits for a small job to finish. */
constexpr int JobTimeoutMs = 60000;

/** A node that is only seen, never given work: stands in for a remote agent in the nodes table. */
class FakeNode : public sched::Node
{
public:
    explicit FakeNode(int workers, const QString &id = QStringLiteral("fake-1"),
                      const QString &name = QStringLiteral("fake-agent"));
    QString id() const override { return m_id; }
    QString name() const override { return m_name; }
    QString address() const override { return QStringLiteral("192.0.2.7:45450"); }
    sched::NodeState state() const override { return sched::NodeState::Online; }
    int workerCount() const override { return m_workers; }
    int busyWorkers() const override { return 0; }
    int credit() const override { return 0; }
    bool canRun(const exec::PluginInfo &, QString *why) const override;
    void submit(const exec::PluginInfo &, qint64, const exec::JobParametersPtr &, QVector<sched::NodeTask>) override { }
    void cancel(const QVector<quint64> &) override { }
    void setWorkerCount(int count) override;

private:
    int m_workers;
    QString m_id;
    QString m_name;
};

/** Options of a window with \a workers local workers, the built plugins and worker, and no settings read. */
gui::MainWindowOptions windowOptions(int workers);
/**
 * A shown window with \a workers local workers, the built plugins and worker, and no settings read; with
 * \a exitStats its statistics are written there when it goes, with \a secretFile agents are reached with it.
 */
std::unique_ptr<gui::MainWindow> makeWindow(int workers, const QString &exitStats = {}, const QString &secretFile = {});
/** A shown window journaling into \a journalDir that does \a resume with what earlier sessions left there. */
std::unique_ptr<gui::MainWindow> makeJournaledWindow(int workers, const QString &journalDir,
                                                     gui::MainWindowOptions::Resume resume);

/** Writes \a content to \a name in \a dir; its path, or "" if it could not be written. */
QString writeFile(const QTemporaryDir &dir, const QString &name, const QByteArray &content);
/** A job file of \a count sleep tasks of \a ms each, named \a name (file name.json); its path. */
QString writeSleepJob(const QTemporaryDir &dir, const QString &name, int count, int ms);

/** Drops \a paths on \a window as a file manager would: drag enter, then drop. Returns whether the drop was accepted. */
bool dropFiles(QWidget *window, const QStringList &paths);

/** The window's one job, or null while it has not exactly one. */
const sched::JobSnapshot *onlyJob(gui::MainWindow *w);
/** Whether the job on \a row of the Jobs table has finished. */
bool jobFinished(gui::MainWindow *w, int row);
/** Waits (bounded by \a timeoutMs) for the job on \a row to finish; whether it did. */
bool waitForJobFinished(gui::MainWindow *w, int row, int timeoutMs = JobTimeoutMs);

/** The text of \a column on the row of node \a id in the Nodes table, or a null QString when there is no such row. */
QString nodeCell(gui::MainWindow *w, const QString &id, int column);
/** Waits (bounded by \a timeoutMs) until node \a id's State cell reads \a state; whether it did. */
bool waitForNodeState(gui::MainWindow *w, const QString &id, const QString &state, int timeoutMs = 20000);
/** Node \a id in snapshot \a s, or null. */
const sched::NodeSnapshot *nodeIn(const sched::ClusterSnapshot &s, const QString &id);

/** The window's action (menu entry) whose text is exactly \a text, or null. */
QAction *menuAction(gui::MainWindow *w, const QString &text);
/** The job's results as shown in the Results table: index → the Output column's text. */
QMap<int, QString> shownOutputs(gui::MainWindow *w);

/** Lets the controller thread handle what was posted before, and the window its snapshot; false after 10 s. */
bool settle(gui::MainWindow *w);

/** A small CSV reader for the files Statistics and the Results export write (quoted fields allowed). */
QVector<QStringList> readCsv(const QString &path);

/** The jobs of the one app journal in \a dir (app-*.tfj), or none while there is not exactly one. */
QVector<sched::JournaledJob> appJournal(const QString &dir, QString *path = nullptr);

/**
 * Renders \a widget and checks the picture shows a window, not a blank or clipped one (screenshotProblem()); with
 * TF_SCREENSHOT_DIR set, also saves it there as \a name (for docs/). Returns "" when all is well, else "NAME: what is
 * wrong" (use it as QCOMPARE(grabFor(w, name), QString())).
 */
[[nodiscard]] QString grabFor(QWidget *widget, const QString &name);
/**
 * What is wrong with \a shot as a picture of \a widget: "" when it is the widget's size and painted with
 * enough colours over enough of it to be a window, else the reason (blank, one colour, clipped, ...). \a figures, if
 * given, gets the colour count and the commonest colour's share.
 */
QString screenshotProblem(const QWidget *widget, const QImage &shot, QString *figures = nullptr);

/** The cluster secret of the tests' agents, written to DIR/secret; its path ("" if it could not be written). */
QString writeAgentSecret(const QTemporaryDir &dir);
/** Starts \a agent with \a workers workers and no discovery (the tests add it by address), its state in \a stateDir. */
bool startAgent(test::AgentProcess &agent, const QString &stateDir, const QString &secret, int workers);

} // namespace taskfleet::guitest
