// SPDX-License-Identifier: MIT
// Many nodes: echo tasks per second over N loopback agents of W workers each, and what one controller pays for
// them: CPU per 1,000 tasks, CPU per agent idle and busy, status and other traffic per agent per second,
// memory per connected agent (docs/scale.md).
#include "benchsupport.h"

#include "protocol/frame.h"
#include "protocol/messages.h"

#include <QtCore/QCommandLineParser>

using namespace taskfleet;

namespace {

/** Controller-side traffic summed over all remote nodes (plaintext frame bytes, as SecureChannel counts them). */
struct Traffic {
    double cpu = 0; ///< controller process CPU seconds
    quint64 statusFrames = 0;
    quint64 statusBytes = 0; ///< CBOR + frame header of each status frame received
    quint64 framesIn = 0;
    quint64 bytesIn = 0;
    quint64 framesOut = 0;
    quint64 bytesOut = 0;
    quint64 writes = 0;

    Traffic operator-(const Traffic &o) const
    {
        return {cpu - o.cpu,         statusFrames - o.statusFrames, statusBytes - o.statusBytes, framesIn - o.framesIn,
                bytesIn - o.bytesIn, framesOut - o.framesOut,       bytesOut - o.bytesOut,       writes - o.writes};
    }
    Traffic &operator+=(const Traffic &o)
    {
        cpu += o.cpu;
        statusFrames += o.statusFrames;
        statusBytes += o.statusBytes;
        framesIn += o.framesIn;
        bytesIn += o.bytesIn;
        framesOut += o.framesOut;
        bytesOut += o.bytesOut;
        writes += o.writes;
        return *this;
    }
};

/**
 * Counts status frames (RemoteNode::statusReceived) and reads each node's channel counters. RemoteNode does not
 * expose its SecureChannel; the channel is its QObject child, so it is found with findChild (read only).
 */
class TrafficMeter
{
public:
    explicit TrafficMeter(const QVector<sched::RemoteNode *> &nodes)
        : m_nodes(nodes)
    {
        for (sched::RemoteNode *node : m_nodes)
            QObject::connect(node, &sched::RemoteNode::statusReceived, node, [this, node] {
                ++m_statusFrames;
                // The frame as the agent sent it: the same fields encode to the same bytes.
                m_statusBytes += quint64(QCborValue(protocol::encode(node->lastStatus())).toCbor().size()
                                         + protocol::FrameHeaderSize);
            });
    }

    Traffic sample() const
    {
        Traffic t;
        t.cpu = bench::processCpuSeconds();
        t.statusFrames = m_statusFrames;
        t.statusBytes = m_statusBytes;
        for (sched::RemoteNode *node : m_nodes) {
            const auto *channel = node->findChild<net::SecureChannel *>(QString(), Qt::FindDirectChildrenOnly);
            if (!channel)
                continue;
            const net::ChannelCounters c = channel->counters();
            t.framesIn += c.framesReceived;
            t.bytesIn += c.bytesReceived;
            t.framesOut += c.framesSent;
            t.bytesOut += c.bytesSent;
            t.writes += c.writes;
        }
        return t;
    }

private:
    QVector<sched::RemoteNode *> m_nodes;
    quint64 m_statusFrames = 0;
    quint64 m_statusBytes = 0;
};

/** Runs the event loop (as the controller's thread does) for \a ms milliseconds. */
void idleFor(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Starts N taskfleet-agents on 127.0.0.1 with W workers each, lets them sit idle but connected, then runs\n"
        "echo jobs over all of them (no local workers). Prints tasks per second and what the controller pays:\n"
        "CPU per 1,000 tasks, CPU (cores) per agent idle and busy, status frames and bytes per agent per\n"
        "second (idle and busy), all frame bytes per agent per second, RSS per connected agent."));
    parser.addHelpOption();
    const QCommandLineOption agentsOpt(QStringLiteral("agents"), QStringLiteral("Agents."), QStringLiteral("N"),
                                       QStringLiteral("32"));
    const QCommandLineOption workersOpt(QStringLiteral("workers"), QStringLiteral("Workers per agent."),
                                        QStringLiteral("W"), QStringLiteral("1"));
    const QCommandLineOption tasksOpt(QStringLiteral("tasks"), QStringLiteral("Echo tasks per run."),
                                      QStringLiteral("N"), QStringLiteral("100000"));
    const QCommandLineOption repeatOpt(QStringLiteral("repeat"), QStringLiteral("Runs (best is kept)."),
                                       QStringLiteral("N"), QStringLiteral("3"));
    const QCommandLineOption idleOpt(QStringLiteral("idle-seconds"),
                                     QStringLiteral("Idle interval measured with every agent online."),
                                     QStringLiteral("S"), QStringLiteral("5"));
    const QCommandLineOption quickOpt(QStringLiteral("quick"), QStringLiteral("Small sizes (CI smoke run)."));
    parser.addOptions({agentsOpt, workersOpt, tasksOpt, repeatOpt, idleOpt, quickOpt});
    parser.process(app);
    const bool quick = parser.isSet(quickOpt);
    const int agentCount = quick ? 4 : std::max(1, parser.value(agentsOpt).toInt());
    const int workers = quick ? 1 : std::max(1, parser.value(workersOpt).toInt());
    const int tasks = quick ? 5000 : std::max(1, parser.value(tasksOpt).toInt());
    const int repeat = quick ? 1 : std::max(1, parser.value(repeatOpt).toInt());
    const double idleSeconds = quick ? 1.0 : std::max(0.5, parser.value(idleOpt).toDouble());

    exec::PluginRegistry registry;
    const exec::PluginInfo echo = bench::echoPlugin(registry);
    bench::Agents agents;
    if (!agents.start(agentCount, workers)) {
        std::fprintf(stderr, "not every taskfleet-agent started\n");
        return 1;
    }
    sched::Controller controller;
    controller.setSpeculation(false);
    bench::addLocalNode(controller, 0);
    const qint64 rssBeforeKb = bench::procStatusKb("VmRSS");
    if (!agents.connect(controller, 60000)) {
        std::fprintf(stderr, "not every agent came online\n");
        return 1;
    }
    const qint64 rssConnectedKb = bench::procStatusKb("VmRSS");
    QVector<sched::RemoteNode *> remotes;
    for (sched::Node *n : controller.nodes())
        if (auto *r = qobject_cast<sched::RemoteNode *>(n))
            remotes.append(r);
    TrafficMeter meter(remotes);

    if (bench::runJob(controller, bench::echoJob(echo, 200 * agentCount * workers)).notOk) {
        std::fprintf(stderr, "warm-up job failed\n");
        return 1;
    }

    // Idle but connected: heartbeats both ways, status frames only when something changes. Settle first (the
    // warm-up's last statuses are rate-limited to one per 250 ms).
    idleFor(quick ? 300 : 1500);
    const Traffic idle0 = meter.sample();
    idleFor(int(idleSeconds * 1000));
    const Traffic idle = meter.sample() - idle0;
    const double idleAgentSeconds = idleSeconds * agentCount;

    const sched::JobSpec spec = bench::echoJob(echo, tasks);
    double best = 1e9, bestCpu = 0, busyWall = 0;
    Traffic busy;
    // Tasks in flight (dispatched, no result yet) over all agents, sampled: the credit window the controller holds.
    int maxInFlight = 0;
    QTimer inFlightProbe;
    QObject::connect(&inFlightProbe, &QTimer::timeout, &inFlightProbe, [&] {
        int sum = 0;
        for (const sched::RemoteNode *r : std::as_const(remotes))
            sum += r->inFlight();
        maxInFlight = std::max(maxInFlight, sum);
    });
    inFlightProbe.start(10);
    for (int r = 0; r < repeat; ++r) {
        const Traffic t0 = meter.sample();
        const bench::JobTiming t = bench::runJob(controller, spec);
        const Traffic d = meter.sample() - t0;
        if (t.notOk) {
            std::fprintf(stderr, "%lld tasks did not succeed\n", static_cast<long long>(t.notOk));
            return 1;
        }
        busy += d;
        busyWall += t.wallSeconds;
        if (t.wallSeconds < best) {
            best = t.wallSeconds;
            bestCpu = d.cpu;
        }
    }
    inFlightProbe.stop();
    const double busyAgentSeconds = busyWall * agentCount;
    double capacity = 0; // what each agent advertises, mean: the basis of its credit
    for (const sched::RemoteNode *r : std::as_const(remotes))
        capacity += r->lastStatus().capacity;
    capacity /= std::max<qsizetype>(1, remotes.size());
    int used = 0;
    for (const auto &n : controller.snapshot(1).nodes)
        used += n.tasksDone > 0 && !n.local ? 1 : 0;

    const double cpuPer1000 = busy.cpu / (double(tasks) * repeat) * 1000 * 1000; // ms
    const double rssPerAgentKb = double(rssConnectedKb - rssBeforeKb) / agentCount;
    auto row = [](const QString &label, const char *format, double value) {
        std::printf("%-60s ", qPrintable(label));
        std::printf(format, value);
        std::printf("\n");
    };
    std::printf("%-60s %12s\n", "measure", "value");
    row(QStringLiteral("echo tasks/s, %1 agents x %2 workers, %3 tasks").arg(agentCount).arg(workers).arg(tasks),
        "%12.0f", double(tasks) / best);
    row(QStringLiteral("wall time, s (best run)"), "%12.3f", best);
    row(QStringLiteral("controller CPU time in that run, s"), "%12.3f", bestCpu);
    row(QStringLiteral("controller CPU, cores (CPU time / wall time)"), "%12.2f", bestCpu / best);
    row(QStringLiteral("controller CPU per 1,000 tasks, ms (all %1 runs)").arg(repeat), "%12.3f", cpuPer1000);
    row(QStringLiteral("controller CPU per agent, busy, millicores"), "%12.2f", busy.cpu / busyAgentSeconds * 1000);
    row(QStringLiteral("controller CPU per agent, idle %1 s, millicores").arg(idleSeconds), "%12.3f",
        idle.cpu / idleAgentSeconds * 1000);
    row(QStringLiteral("status frames per agent per s, idle"), "%12.2f", double(idle.statusFrames) / idleAgentSeconds);
    row(QStringLiteral("status bytes per agent per s, idle"), "%12.1f", double(idle.statusBytes) / idleAgentSeconds);
    row(QStringLiteral("frames received per agent per s, idle"), "%12.2f", double(idle.framesIn) / idleAgentSeconds);
    row(QStringLiteral("frames sent per agent per s, idle"), "%12.2f", double(idle.framesOut) / idleAgentSeconds);
    row(QStringLiteral("bytes received per agent per s, idle"), "%12.1f", double(idle.bytesIn) / idleAgentSeconds);
    row(QStringLiteral("bytes sent per agent per s, idle"), "%12.1f", double(idle.bytesOut) / idleAgentSeconds);
    row(QStringLiteral("status frames per agent per s, busy"), "%12.2f", double(busy.statusFrames) / busyAgentSeconds);
    row(QStringLiteral("status bytes per agent per s, busy"), "%12.1f", double(busy.statusBytes) / busyAgentSeconds);
    row(QStringLiteral("frames received per agent per s, busy"), "%12.1f", double(busy.framesIn) / busyAgentSeconds);
    row(QStringLiteral("frames sent per agent per s, busy"), "%12.1f", double(busy.framesOut) / busyAgentSeconds);
    row(QStringLiteral("bytes received per agent per s, busy"), "%12.0f", double(busy.bytesIn) / busyAgentSeconds);
    row(QStringLiteral("bytes sent per agent per s, busy"), "%12.0f", double(busy.bytesOut) / busyAgentSeconds);
    row(QStringLiteral("bytes in + out per task, busy (all frames)"), "%12.1f",
        double(busy.bytesIn + busy.bytesOut) / (double(tasks) * repeat));
    row(QStringLiteral("capacity an agent advertises at the end, mean"), "%12.0f", capacity);
    row(QStringLiteral("tasks in flight, all agents, max (sampled every 10 ms)"), "%12.0f", maxInFlight);
    row(QStringLiteral("controller RSS per connected agent, KB"), "%12.0f", rssPerAgentKb);
    row(QStringLiteral("agents that ran tasks"), "%12.0f", used);
    std::printf(
        "{\"bench\":\"many_agents\",\"agents\":%d,\"workers\":%d,\"tasks\":%d,\"repeat\":%d,\"tasks_per_s\":%.0f,"
        "\"wall_s\":%.4f,\"controller_cpu_s\":%.3f,\"controller_cores\":%.3f,\"cpu_ms_per_1000_tasks\":%.4f,"
        "\"busy_millicores_per_agent\":%.3f,\"idle_s\":%.1f,\"idle_millicores_per_agent\":%.4f,"
        "\"idle_status_per_agent_s\":%.3f,\"idle_status_bytes_per_agent_s\":%.1f,"
        "\"idle_frames_in_per_agent_s\":%.3f,\"idle_frames_out_per_agent_s\":%.3f,"
        "\"idle_bytes_in_per_agent_s\":%.1f,\"idle_bytes_out_per_agent_s\":%.1f,"
        "\"busy_status_per_agent_s\":%.3f,\"busy_status_bytes_per_agent_s\":%.1f,"
        "\"busy_frames_in_per_agent_s\":%.2f,\"busy_frames_out_per_agent_s\":%.2f,"
        "\"busy_bytes_in_per_agent_s\":%.0f,\"busy_bytes_out_per_agent_s\":%.0f,\"bytes_per_task\":%.2f,"
        "\"agent_capacity\":%.0f,\"max_in_flight\":%d,\"rss_kb_per_agent\":%.0f,\"agents_used\":%d,\"quick\":%s}\n",
        agentCount, workers, tasks, repeat, double(tasks) / best, best, bestCpu, bestCpu / best, cpuPer1000,
        busy.cpu / busyAgentSeconds * 1000, idleSeconds, idle.cpu / idleAgentSeconds * 1000,
        double(idle.statusFrames) / idleAgentSeconds, double(idle.statusBytes) / idleAgentSeconds,
        double(idle.framesIn) / idleAgentSeconds, double(idle.framesOut) / idleAgentSeconds,
        double(idle.bytesIn) / idleAgentSeconds, double(idle.bytesOut) / idleAgentSeconds,
        double(busy.statusFrames) / busyAgentSeconds, double(busy.statusBytes) / busyAgentSeconds,
        double(busy.framesIn) / busyAgentSeconds, double(busy.framesOut) / busyAgentSeconds,
        double(busy.bytesIn) / busyAgentSeconds, double(busy.bytesOut) / busyAgentSeconds,
        double(busy.bytesIn + busy.bytesOut) / (double(tasks) * repeat), capacity, maxInFlight, rssPerAgentKb, used,
        quick ? "true" : "false");
    return 0;
}
