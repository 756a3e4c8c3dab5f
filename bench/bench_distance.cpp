// SPDX-License-Identifier: MIT
// Distant agents: a job of 200 × 50 ms sleeps on 3 agents × 2 workers behind links of 50 ms ± 10 ms
// each way with 2 % segment loss (tests/support/impairedlink.h), with the delay credit and with the
// old fixed allowance; and echo tasks per second on plain loopback with both rules.
#include "benchsupport.h"
#include "impairedlink.h"

#include "exec/pluginregistry.h"

#include <QtCore/QCommandLineParser>

#include <limits>

using namespace taskfleet;

namespace {

struct Setup {
    const char *name;
    bool distant;
    bool delayCredit;
};

/** A controller with no local workers and one RemoteNode per port; null unless all come online. */
std::unique_ptr<sched::Controller> connectAll(bench::Agents &agents, const std::vector<quint16> &ports,
                                              bool delayCredit)
{
    auto controller = std::make_unique<sched::Controller>();
    bench::addLocalNode(*controller, 0);
    return agents.connectTo(*controller, ports, 60000, delayCredit) ? std::move(controller) : nullptr;
}

sched::JobSpec sleepJob(const exec::PluginInfo &sleep, int tasks, int ms)
{
    sched::JobSpec spec;
    spec.name = QStringLiteral("sleeps");
    spec.plugin = sleep;
    for (int i = 0; i < tasks; ++i)
        spec.inputs.append(ms);
    return spec;
}

/** The largest delay credit among \a controller's agents (0 with the old rule). */
int maxDelayCredit(const sched::Controller &controller)
{
    int most = 0;
    for (sched::Node *n : controller.nodes())
        if (auto *remote = qobject_cast<sched::RemoteNode *>(n))
            most = std::max(most, remote->delayCredit());
    return most;
}

/** The smallest old-rule allowance, max(1, capacity / 4), among \a controller's agents. */
int minAllowance(const sched::Controller &controller)
{
    int least = std::numeric_limits<int>::max();
    for (sched::Node *n : controller.nodes())
        if (auto *remote = qobject_cast<sched::RemoteNode *>(n))
            least = std::min(least, std::max(1, remote->lastStatus().capacity / 4));
    return least;
}

double median(std::vector<double> v)
{
    return bench::quantile(std::move(v), 0.5);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral(
        "Starts 3 taskfleet-agents of 2 workers on 127.0.0.1 and runs 200 sleeps of 50 ms on them directly and\n"
        "through links of 50 ms +- 10 ms each way with 2 % loss, with the round-trip credit and with the old\n"
        "fixed allowance (median of the rounds); then echo tasks per second on loopback with both rules."));
    parser.addHelpOption();
    const QCommandLineOption roundsOpt(QStringLiteral("rounds"), QStringLiteral("Rounds per setup (median kept)."),
                                       QStringLiteral("N"), QStringLiteral("3"));
    const QCommandLineOption quickOpt(QStringLiteral("quick"), QStringLiteral("Small sizes (CI smoke run)."));
    parser.addOptions({roundsOpt, quickOpt});
    parser.process(app);
    const bool quick = parser.isSet(quickOpt);
    const int rounds = quick ? 1 : std::max(1, parser.value(roundsOpt).toInt());
    const int tasks = quick ? 36 : 200;
    constexpr int TaskMs = 50;
    constexpr int AgentCount = 3;
    constexpr int Workers = 2;
    const int echoTasks = quick ? 5000 : 100000;

    exec::PluginRegistry registry;
    QString error;
    const auto sleep = registry.resolve(QStringLiteral("sleep"), &error);
    if (!sleep) {
        std::fprintf(stderr, "%s\n", qPrintable(error));
        return 2;
    }
    const exec::PluginInfo echo = bench::echoPlugin(registry);
    bench::Agents agents;
    if (!agents.start(AgentCount, Workers)) {
        std::fprintf(stderr, "not every taskfleet-agent started\n");
        return 1;
    }
    const std::vector<quint16> &direct = agents.ports();
    std::vector<std::unique_ptr<test::ImpairedLink>> links;
    std::vector<quint16> distant;
    test::LinkProfile profile;
    profile.delayMs = 50;
    profile.jitterMs = 10;
    profile.loss = 0.02;
    for (int i = 0; i < AgentCount; ++i) {
        profile.seed = quint32(1500 + i);
        links.push_back(std::make_unique<test::ImpairedLink>(QHostAddress::LocalHost, direct.at(size_t(i)), profile));
        if (!links.back()->start()) {
            std::fprintf(stderr, "cannot start the impaired link\n");
            return 1;
        }
        distant.push_back(links.back()->port());
    }

    {
        // Every agent caches both plugins first, so no setup below pays an upload.
        auto warm = connectAll(agents, direct, true);
        if (!warm || bench::runJob(*warm, sleepJob(*sleep, AgentCount * Workers, 1)).notOk
            || bench::runJob(*warm, bench::echoJob(echo, 1000)).notOk) {
            std::fprintf(stderr, "warm-up failed\n");
            return 1;
        }
    }
    const double workSeconds = double(tasks) * TaskMs / 1000.0 / (AgentCount * Workers);
    const Setup setups[] = {{"loopback, round-trip credit", false, true},
                            {"loopback, old allowance", false, false},
                            {"100 ms RTT + 2 % loss, round-trip credit", true, true},
                            {"100 ms RTT + 2 % loss, old allowance", true, false}};
    double wall[4] = {};
    double cold[4] = {};
    std::printf("%d x %d ms sleeps on %d agents x %d workers: work %.2f s\n", tasks, TaskMs, AgentCount, Workers,
                workSeconds);
    std::printf("%-44s %10s %10s %12s %13s\n", "setup", "wall, s", "x work", "first job, s", "delay credit");
    for (int s = 0; s < 4; ++s) {
        auto controller = connectAll(agents, setups[s].distant ? distant : direct, setups[s].delayCredit);
        if (!controller) {
            std::fprintf(stderr, "the agents did not come online (%s)\n", setups[s].name);
            return 1;
        }
        // A fresh controller's first job: each node learns its tasks' runtime (and so its credit) from it.
        const bench::JobTiming first = bench::runJob(*controller, sleepJob(*sleep, tasks, TaskMs));
        std::vector<double> walls;
        for (int r = 0; r < rounds; ++r) {
            const bench::JobTiming t = bench::runJob(*controller, sleepJob(*sleep, tasks, TaskMs));
            if (t.notOk || first.notOk) {
                std::fprintf(stderr, "%lld tasks did not succeed (%s)\n", static_cast<long long>(t.notOk + first.notOk),
                             setups[s].name);
                return 1;
            }
            walls.push_back(t.wallSeconds);
        }
        wall[s] = median(walls);
        cold[s] = first.wallSeconds;
        std::printf("%-44s %10.3f %10.2f %12.3f %13d\n", setups[s].name, wall[s], wall[s] / workSeconds, cold[s],
                    maxDelayCredit(*controller));
    }
    std::printf("%-44s %10.2f\n", "distant: old allowance / round-trip credit", wall[3] / wall[2]);

    // Loopback echo throughput: the larger credit must not cost speed where the round trip is tiny. Both
    // controllers stay connected and take turns, so the machine's noise falls on both alike.
    std::unique_ptr<sched::Controller> echoControllers[2]
        = {connectAll(agents, direct, true), connectAll(agents, direct, false)};
    std::vector<double> rates[2];
    for (int r = 0; r < rounds + 1; ++r) {
        for (int s = 0; s < 2; ++s) {
            if (!echoControllers[s]) {
                std::fprintf(stderr, "the agents did not come online (echo)\n");
                return 1;
            }
            const bench::JobTiming t = bench::runJob(*echoControllers[s], bench::echoJob(echo, echoTasks));
            if (t.notOk) {
                std::fprintf(stderr, "%lld echo tasks did not succeed\n", static_cast<long long>(t.notOk));
                return 1;
            }
            if (r > 0) // the first round warms up
                rates[s].push_back(double(echoTasks) / t.wallSeconds);
        }
    }
    const double echoRate[2] = {median(rates[0]), median(rates[1])};
    std::printf("%-44s %10.0f\n", "loopback echo tasks/s, round-trip credit", echoRate[0]);
    std::printf("%-44s %10.0f\n", "loopback echo tasks/s, old allowance", echoRate[1]);
    std::printf("%-44s %10.2f\n", "loopback echo: round-trip credit / old", echoRate[0] / echoRate[1]);
    // For short tasks the old allowance (capacity / 4) is the larger term: the rules then give equal credit.
    std::printf("%-44s %10d\n", "loopback echo: largest delay credit", maxDelayCredit(*echoControllers[0]));
    std::printf("%-44s %10d\n", "loopback echo: allowance (capacity / 4)", minAllowance(*echoControllers[0]));
    std::printf("{\"bench\":\"distance\",\"tasks\":%d,\"task_ms\":%d,\"work_s\":%.3f,\"loopback_s\":%.3f,"
                "\"loopback_old_s\":%.3f,\"distant_s\":%.3f,\"distant_old_s\":%.3f,\"distant_x_work\":%.3f,"
                "\"distant_first_job_s\":%.3f,\"echo_per_s\":%.0f,\"echo_old_per_s\":%.0f}\n",
                tasks, TaskMs, workSeconds, wall[0], wall[1], wall[2], wall[3], wall[2] / workSeconds, cold[2],
                echoRate[0], echoRate[1]);
    return 0;
}
