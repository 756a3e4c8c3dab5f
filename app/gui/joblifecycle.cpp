// SPDX-License-Identifier: MIT
// The jobs' lifecycle behind the window: submit, retry, rerun, resume, remove, and the journal of it all.
#include "joblifecycle.h"

#include "format.h"
#include "resultsmodel.h"
#include "tasksmodel.h"

#include "exec/pluginregistry.h"

#include <algorithm>

namespace taskfleet::gui {

JobLifecycle::JobLifecycle(sched::ControllerHost *host, TasksModel *tasks, ResultsModel *results, QObject *parent)
    : QObject(parent)
    , m_host(host)
    , m_tasks(tasks)
    , m_results(results)
{
    connect(m_host, &sched::ControllerHost::jobSubmitted, this, &JobLifecycle::onJobSubmitted);
    connect(m_host, &sched::ControllerHost::resultsRecorded, this, &JobLifecycle::onResults);
    connect(m_host, &sched::ControllerHost::jobFinished, this, &JobLifecycle::onJobFinished);
    connect(m_host, &sched::ControllerHost::tasksAdded, this, &JobLifecycle::onTasksAdded);
    m_journal.setFailureHandler([this](const QString &message) { emit errorRaised(message); });
}

JobLifecycle::~JobLifecycle() = default;

void JobLifecycle::submit(sched::JobSpec spec, bool select)
{
    Intent intent;
    intent.select = select;
    queue(std::move(spec), std::move(intent));
}

void JobLifecycle::queue(sched::JobSpec spec, Intent intent)
{
    spec.ticket = m_nextTicket++;
    const QString name = spec.name;
    m_intents.insert(spec.ticket, std::move(intent));
    m_host->submit(spec);
    emit submitted(name);
}

void JobLifecycle::onJobSubmitted(int jobId, const sched::JobSpec &spec)
{
    // Only this lifecycle's tickets are its own: a script's jobs (and another submitter's) carry none of them.
    const auto found = spec.ticket ? m_intents.find(spec.ticket) : m_intents.end();
    const bool own = found != m_intents.end();
    Intent intent;
    if (own) {
        intent = std::move(*found);
        m_intents.erase(found);
    }
    m_specs.insert(jobId, spec);
    m_results->setJobInputs(jobId, spec.inputs);
    if (!intent.resumeKey.isEmpty()) {
        // The whole journaled job runs again with its earlier results counted: same indices, so the journal
        // needs no translation, and the models get the earlier results as if they had just arrived.
        m_journal.trackResumed(jobId, intent.resumeKey, {});
        m_tasks->addJob(jobId, spec.inputs.size());
        m_tasks->addRecords(jobId, intent.earlier);
        m_results->addRecords(jobId, intent.earlier);
    } else {
        if (spec.origin.isEmpty())
            m_journal.addJob(jobId, spec); // an attached script's jobs are the script's to journal
        m_tasks->addJob(jobId, spec.inputs.size(),
                        intent.retryOf >= 0 ? tr("A retry of task %2 of job %1.").arg(intent.retryOf) : QString(),
                        intent.retryIndices);
    }
    m_tasks->setJobInputs(jobId, spec.inputs); // the task detail's "Input:" line
    // A script's new job is shown as the user's are: they just started it.
    emit jobAdded(jobId, spec, intent.select || !spec.origin.isEmpty());
    if (!intent.earlier.isEmpty())
        emit recordsAdded(jobId, intent.earlier); // a resumed picture shows its earlier tiles too
}

void JobLifecycle::onTasksAdded(int jobId, int first, const QVector<QCborValue> &inputs)
{
    const auto spec = m_specs.find(jobId);
    if (spec == m_specs.end() || spec->inputs.size() != first)
        return;
    // The models let go of the list first, so it grows in place rather than being copied at every frame.
    m_results->setJobInputs(jobId, {});
    m_tasks->setJobInputs(jobId, {});
    for (const QCborValue &v : inputs)
        spec->inputs.append(v);
    m_results->setJobInputs(jobId, spec->inputs);
    m_tasks->growJob(jobId, spec->inputs.size());
    m_tasks->setJobInputs(jobId, spec->inputs);
    emit tasksAdded(jobId, int(spec->inputs.size()));
}

void JobLifecycle::onResults(int jobId, const QVector<sched::TaskRecord> &records)
{
    m_results->addRecords(jobId, records);
    m_tasks->addRecords(jobId, records);
    m_journal.addResults(jobId, records);
    emit recordsAdded(jobId, records);
}

void JobLifecycle::onJobFinished(int jobId)
{
    m_journal.endJob(jobId);
}

const sched::JobSpec *JobLifecycle::spec(int jobId) const
{
    const auto found = m_specs.constFind(jobId);
    return found == m_specs.constEnd() ? nullptr : &*found;
}

int JobLifecycle::retryFailedTasks(int jobId)
{
    const sched::JobSpec *spec = this->spec(jobId);
    if (!spec)
        return 0;
    const QVector<int> indices
        = m_tasks->indicesIn(jobId, {TasksModel::Failed, TasksModel::Error, TasksModel::Cancelled});
    if (indices.isEmpty()) {
        emit confirmed(tr("Job %1 has no failed, error or cancelled tasks to retry").arg(jobId));
        return 0;
    }
    sched::JobSpec retry = *spec;
    retry.inputs.clear();
    retry.inputs.reserve(indices.size());
    for (int i : indices)
        retry.inputs.append(spec->inputs.at(i));
    retry.endedBefore.clear();
    retry.name = tr("%1 (retry of %2)").arg(spec->name, countOf(indices.size(), tr("task"), tr("tasks")));
    retry.origin.clear();
    Intent intent;
    intent.select = true;
    intent.retryOf = jobId;
    intent.retryIndices = indices;
    queue(std::move(retry), std::move(intent));
    return int(indices.size());
}

bool JobLifecycle::rerunJob(int jobId)
{
    const sched::JobSpec *spec = this->spec(jobId);
    if (!spec)
        return false;
    sched::JobSpec again = *spec;
    again.origin.clear(); // the window's job now, even if a script submitted the first run
    again.endedBefore.clear();
    submit(std::move(again), true);
    return true;
}

bool JobLifecycle::forgetJob(int jobId)
{
    if (!m_specs.remove(jobId))
        return false;
    m_host->removeJob(jobId);
    m_tasks->removeJob(jobId);
    m_results->removeJob(jobId);
    return true;
}

bool JobLifecycle::openJournal(const QString &dir, QString *error, QStringList *warnings)
{
    if (!m_journal.open(dir, error))
        return false;
    m_leftovers = m_journal.findLeftovers(dir, warnings);
    return true;
}

int JobLifecycle::leftoverJobs() const
{
    int jobs = 0;
    for (const AppJournal::Leftover &l : m_leftovers)
        jobs += int(l.unfinished.size());
    return jobs;
}

QStringList JobLifecycle::leftoverLines() const
{
    QStringList lines;
    for (const AppJournal::Leftover &l : m_leftovers)
        for (const sched::JournaledJob &job : l.unfinished)
            lines << tr("\u2022 %1: %2 of %3 tasks left")
                         .arg(job.spec.name)
                         .arg(job.spec.inputs.size() - job.results.size())
                         .arg(job.spec.inputs.size());
    return lines;
}

void JobLifecycle::dropLeftover(AppJournal::Leftover &leftover)
{
    // Only once this session's journal has what was copied from it on disk: a full disk loses nothing.
    if (m_journal.sync()) {
        AppJournal::remove(leftover);
        return;
    }
    emit errorRaised(tr("The journal could not be written (%1); %2 is kept.").arg(m_journal.path(), leftover.path));
    leftover.lock.reset();
}

int JobLifecycle::resumeLeftovers()
{
    int resumed = 0;
    for (AppJournal::Leftover &leftover : m_leftovers) {
        for (const sched::JournaledJob &job : std::as_const(leftover.unfinished)) {
            QVector<sched::TaskRecord> earlier;
            earlier.reserve(job.results.size());
            for (const sched::TaskRecord &r : job.results) {
                earlier.append(r);
                earlier.last().startUs = sched::TaskRecord::EarlierSession; // not this session's clock
            }
            std::sort(earlier.begin(), earlier.end(),
                      [](const sched::TaskRecord &a, const sched::TaskRecord &b) { return a.index < b.index; });
            // The plugin must still be the one the journal names: same file, same content.
            QString why;
            const auto plugin = exec::PluginRegistry::inspect(job.spec.plugin.path, &why);
            if (!plugin || plugin->sha256 != job.spec.plugin.sha256) {
                emit errorRaised(tr("Cannot resume job \"%1\": plugin %2 %3. It stays in the journal.")
                                     .arg(job.spec.name, job.spec.plugin.path,
                                          plugin ? tr("has changed since the job started") : why));
                // Carried into this session's journal, unended: offered again at the next start.
                m_journal.recordResumed(job.key, job.spec, earlier, job.startedMs);
                continue;
            }
            sched::JobSpec whole = job.spec;
            whole.plugin = *plugin;
            m_journal.recordResumed(job.key, whole, earlier, job.startedMs);

            // The whole job, its earlier tasks counted as ended: the controller runs only the others.
            for (const sched::TaskRecord &r : std::as_const(earlier))
                whole.endedBefore.insert(r.index, int(r.status));
            whole.name = tr("%1 (resumed: %2 of %3 tasks left)")
                             .arg(whole.name)
                             .arg(whole.inputs.size() - earlier.size())
                             .arg(whole.inputs.size());
            Intent intent;
            intent.select = resumed == 0;
            intent.resumeKey = job.key;
            intent.earlier = std::move(earlier);
            queue(std::move(whole), std::move(intent));
            ++resumed;
        }
        for (const sched::JournaledJob &job : std::as_const(leftover.ended))
            m_journal.carryEnded(job); // the history in that file lives on in this one
        dropLeftover(leftover);
    }
    m_leftovers.clear();
    if (resumed > 0)
        emit confirmed(tr("Resumed %1 from the journal").arg(countOf(resumed, tr("job"), tr("jobs"))));
    return resumed;
}

void JobLifecycle::discardLeftovers()
{
    const int jobs = leftoverJobs();
    for (AppJournal::Leftover &leftover : m_leftovers) {
        for (const sched::JournaledJob &job : std::as_const(leftover.ended))
            m_journal.carryEnded(job);
        dropLeftover(leftover);
    }
    m_leftovers.clear();
    if (jobs > 0)
        emit confirmed(
            tr("Discarded %1 from the journal").arg(countOf(jobs, tr("unfinished job"), tr("unfinished jobs"))));
}

} // namespace taskfleet::gui
