// SPDX-License-Identifier: MIT
#include "guitestsupport.h"

#include "agentprocess.h"
#include "jobsmodel.h"
#include "nodesmodel.h"
#include "resultsmodel.h"
#include "testsupport.h"

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QHash>
#include <QtCore/QMimeData>
#include <QtCore/QUrl>
#include <QtGui/QDragEnterEvent>
#include <QtGui/QDropEvent>
#include <QtGui/QImage>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>
#include <QtGui/QAction>
#include <QtWidgets/QWidget>

namespace taskfleet::guitest {

FakeNode::FakeNode(int workers, const QString &id, const QString &name)
    : m_workers(workers)
    , m_id(id)
    , m_name(name)
{
}

bool FakeNode::canRun(const exec::PluginInfo &, QString *why) const
{
    *why = QStringLiteral("fake node");
    return false;
}

void FakeNode::setWorkerCount(int count)
{
    m_workers = count;
    emit workerCountChanged(count);
}

gui::MainWindowOptions windowOptions(int workers)
{
    gui::MainWindowOptions options;
    options.localWorkers = workers;
    options.pluginPaths = {test::pluginDir()};
    options.workerProgram = test::program(QStringLiteral("taskfleet-worker"));
    options.useSettings = false;
    return options;
}

std::unique_ptr<gui::MainWindow> makeWindow(int workers, const QString &exitStats, const QString &secretFile)
{
    gui::MainWindowOptions options = windowOptions(workers);
    options.exitStatisticsPath = exitStats;
    options.secretFile = secretFile;
    auto window = std::make_unique<gui::MainWindow>(options);
    window->show();
    return window;
}

std::unique_ptr<gui::MainWindow> makeJournaledWindow(int workers, const QString &journalDir,
                                                     gui::MainWindowOptions::Resume resume)
{
    gui::MainWindowOptions options = windowOptions(workers);
    options.journalDir = journalDir;
    options.resume = resume;
    auto window = std::make_unique<gui::MainWindow>(options);
    window->show();
    return window;
}

QString writeFile(const QTemporaryDir &dir, const QString &name, const QByteArray &content)
{
    const QString path = dir.filePath(name);
    return test::writeFile(path, content) ? path : QString();
}

QString writeSleepJob(const QTemporaryDir &dir, const QString &name, int count, int ms)
{
    QStringList inputs;
    for (int i = 0; i < count; ++i)
        inputs << QString::number(ms);
    return writeFile(dir, name + QStringLiteral(".json"),
                     QStringLiteral(R"({"name": "%1", "plugin": "sleep", "inputs": [%2]})")
                         .arg(name, inputs.join(QLatin1Char(',')))
                         .toUtf8());
}

bool dropFiles(QWidget *window, const QStringList &paths)
{
    QMimeData mime;
    QList<QUrl> urls;
    for (const QString &p : paths)
        urls.append(QUrl::fromLocalFile(p));
    mime.setUrls(urls);
    const QPointF pos(window->width() / 2.0, window->height() / 2.0);
    QDragEnterEvent enter(pos.toPoint(), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(window, &enter);
    if (!enter.isAccepted())
        return false;
    QDropEvent drop(pos, Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(window, &drop);
    return drop.isAccepted();
}

const sched::JobSnapshot *onlyJob(gui::MainWindow *w)
{
    return w->jobsModel()->rowCount() == 1 ? &w->jobsModel()->jobs().first() : nullptr;
}

bool jobFinished(gui::MainWindow *w, int row)
{
    const auto &jobs = w->jobsModel()->jobs();
    return row < jobs.size() && jobs.at(row).state == sched::JobState::Finished;
}

bool waitForJobFinished(gui::MainWindow *w, int row, int timeoutMs)
{
    return QTest::qWaitFor([&] { return jobFinished(w, row); }, timeoutMs);
}

QString nodeCell(gui::MainWindow *w, const QString &id, int column)
{
    const int row = w->nodesModel()->rowOf(id);
    return row < 0 ? QString() : w->nodesModel()->index(row, column).data().toString();
}

bool waitForNodeState(gui::MainWindow *w, const QString &id, const QString &state, int timeoutMs)
{
    return QTest::qWaitFor([&] { return nodeCell(w, id, gui::NodesModel::State) == state; }, timeoutMs);
}

const sched::NodeSnapshot *nodeIn(const sched::ClusterSnapshot &s, const QString &id)
{
    for (const sched::NodeSnapshot &n : s.nodes)
        if (n.id == id)
            return &n;
    return nullptr;
}

QAction *menuAction(gui::MainWindow *w, const QString &text)
{
    const QList<QAction *> actions = w->findChildren<QAction *>();
    for (QAction *a : actions)
        if (a->text() == text)
            return a;
    return nullptr;
}

QMap<int, QString> shownOutputs(gui::MainWindow *w)
{
    QMap<int, QString> outputs;
    const gui::ResultsModel *m = w->resultsModel();
    for (int r = 0; r < m->rowCount(); ++r)
        outputs.insert(m->index(r, gui::ResultsModel::Index).data().toInt(),
                       m->index(r, gui::ResultsModel::Output).data().toString());
    return outputs;
}

bool settle(gui::MainWindow *w)
{
    QSignalSpy snapshots(w->host(), &sched::ControllerHost::snapshotReady);
    w->host()->requestSnapshot();
    return snapshots.wait(10000);
}

QVector<QStringList> readCsv(const QString &path)
{
    QVector<QStringList> rows;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return rows;
    const QString text = QString::fromUtf8(f.readAll());
    QStringList row;
    QString field;
    bool quoted = false;
    for (qsizetype i = 0; i < text.size(); ++i) {
        const QChar c = text.at(i);
        if (quoted) {
            if (c == QLatin1Char('"') && i + 1 < text.size() && text.at(i + 1) == QLatin1Char('"')) {
                field += c;
                ++i;
            } else if (c == QLatin1Char('"')) {
                quoted = false;
            } else {
                field += c;
            }
        } else if (c == QLatin1Char('"')) {
            quoted = true;
        } else if (c == QLatin1Char(',')) {
            row.append(field);
            field.clear();
        } else if (c == QLatin1Char('\n')) {
            row.append(field);
            rows.append(row);
            row.clear();
            field.clear();
        } else if (c != QLatin1Char('\r')) {
            field += c;
        }
    }
    if (!field.isEmpty() || !row.isEmpty()) {
        row.append(field);
        rows.append(row);
    }
    return rows;
}

QVector<sched::JournaledJob> appJournal(const QString &dir, QString *path)
{
    const QStringList files = QDir(dir).entryList({QStringLiteral("app-*.tfj")}, QDir::Files);
    if (files.size() != 1)
        return {};
    if (path)
        *path = QDir(dir).filePath(files.first());
    QString error;
    return sched::JournalReader::read(QDir(dir).filePath(files.first()), &error)
        .value_or(QVector<sched::JournaledJob> {});
}

QString screenshotProblem(const QWidget *widget, const QImage &shot, QString *figures)
{
    if (shot.isNull())
        return QStringLiteral("no picture");
    const QSize logical = (QSizeF(shot.size()) / shot.devicePixelRatio()).toSize();
    if (logical != widget->size())
        return QStringLiteral("the picture is %1 x %2, the widget %3 x %4")
            .arg(logical.width())
            .arg(logical.height())
            .arg(widget->width())
            .arg(widget->height());
    // Clipped: a window smaller than its layout's minimum squeezes its parts out of sight, and a part that lies
    // partly outside the window is cut off at its edge.
    const QSize minimum = widget->minimumSizeHint();
    if (minimum.isValid() && (widget->width() < minimum.width() || widget->height() < minimum.height()))
        return QStringLiteral("the widget is %1 x %2, below its layout's minimum %3 x %4: its parts are clipped")
            .arg(widget->width())
            .arg(widget->height())
            .arg(minimum.width())
            .arg(minimum.height());
    const QList<QWidget *> parts = widget->findChildren<QWidget *>(Qt::FindDirectChildrenOnly);
    for (const QWidget *part : parts)
        if (!part->isWindow() && part->isVisibleTo(widget) && !widget->rect().contains(part->geometry()))
            return QStringLiteral("%1 (%2) lies at %3,%4 %5 x %6, outside the %7 x %8 widget")
                .arg(QString::fromLatin1(part->metaObject()->className()), part->objectName())
                .arg(part->x())
                .arg(part->y())
                .arg(part->width())
                .arg(part->height())
                .arg(widget->width())
                .arg(widget->height());
    // Blank: painted in one or two colours (an unpainted or empty window), or nearly all of it one colour.
    const QImage image = shot.convertToFormat(QImage::Format_RGB32);
    QHash<QRgb, qint64> colours;
    qint64 samples = 0;
    const int step = 2;
    for (int y = 0; y < image.height(); y += step) {
        const auto *line = reinterpret_cast<const QRgb *>(image.constScanLine(y));
        for (int x = 0; x < image.width(); x += step) {
            ++colours[line[x]];
            ++samples;
        }
    }
    qint64 commonest = 0;
    for (auto it = colours.cbegin(); it != colours.cend(); ++it)
        commonest = std::max(commonest, it.value());
    if (figures)
        *figures = QStringLiteral("%1 colours, the commonest on %2 % of it")
                       .arg(colours.size())
                       .arg(100.0 * double(commonest) / double(samples), 0, 'f', 1);
    constexpr int MinColours = 32;
    constexpr double MaxOneColour = 0.85;
    if (colours.size() < MinColours)
        return QStringLiteral("blank: %1 colours in the picture").arg(colours.size());
    if (double(commonest) > MaxOneColour * double(samples))
        return QStringLiteral("blank: one colour covers %1 % of the picture")
            .arg(100.0 * double(commonest) / double(samples), 0, 'f', 1);
    return {};
}

QString grabFor(QWidget *widget, const QString &name)
{
    const QPixmap shot = widget->grab();
    QString figures;
    if (const QString problem = screenshotProblem(widget, shot.toImage(), &figures); !problem.isEmpty())
        return name + QStringLiteral(": ") + problem;
    qInfo("screenshot %s: %s", qPrintable(name), qPrintable(figures));
    if (const QString dir = qEnvironmentVariable("TF_SCREENSHOT_DIR"); !dir.isEmpty())
        if (!shot.save(QDir(dir).filePath(name)))
            return QStringLiteral("%1: cannot be saved in %2").arg(name, dir);
    return {};
}

QString writeAgentSecret(const QTemporaryDir &dir)
{
    const QString path = dir.filePath(QStringLiteral("secret"));
    return test::writeSecretFile(path, "gui-test-secret-0123456789") ? path : QString();
}

bool startAgent(test::AgentProcess &agent, const QString &stateDir, const QString &secret, int workers)
{
    return agent.start(stateDir, secret,
                       {QStringLiteral("-w"), QString::number(workers), QStringLiteral("--no-discovery")});
}

} // namespace taskfleet::guitest
