// SPDX-License-Identifier: MIT
// The task stream: one lane per worker, one bar per task that ran, coloured by job.
#include "timelineview.h"

#include "format.h"
#include "taskmapview.h"
#include "tasksmodel.h"

#include <QtGui/QHelpEvent>
#include <QtGui/QMouseEvent>
#include <QtGui/QPainter>
#include <QtGui/QWheelEvent>
#include <QtWidgets/QScrollBar>
#include <QtWidgets/QToolTip>

#include <algorithm>
#include <cmath>

namespace taskfleet::gui {

namespace {
constexpr double MinPxPerSecond = 0.01;   ///< a day in 864 pixels
constexpr double MaxPxPerSecond = 200000; ///< a millisecond in 200 pixels
constexpr int RightMargin = 12;

QString stateWord(stats::TaskStatus status)
{
    switch (status) {
    case stats::TaskStatus::Ok:
        return TasksModel::stateName(TasksModel::Done);
    case stats::TaskStatus::Error:
        return TasksModel::stateName(TasksModel::Error);
    case stats::TaskStatus::Failed:
        return TasksModel::stateName(TasksModel::Failed);
    case stats::TaskStatus::Cancelled:
        return TasksModel::stateName(TasksModel::Cancelled);
    }
    return {};
}
} // namespace

void TimelineView::Lane::append(const Bar &bar)
{
    if (ring.size() < size_t(MaxBarsPerLane)) {
        ring.push_back(bar);
    } else {
        ring[next] = bar;
        next = (next + 1) % ring.size();
    }
    freeFromUs = std::max(freeFromUs, bar.endUs);
}

template <typename F>
void TimelineView::Lane::forEach(F f) const
{
    // Oldest first: from next (the oldest once the ring is full) round to next - 1.
    for (size_t i = 0; i < ring.size(); ++i)
        f(ring[(next + i) % ring.size()]);
}

TimelineView::TimelineView(TasksModel *model, QWidget *parent)
    : QAbstractScrollArea(parent)
    , m_model(model)
{
    setMinimumSize(200, 100);
    viewport()->setMouseTracking(false);
    horizontalScrollBar()->setSingleStep(20);
    verticalScrollBar()->setSingleStep(LaneHeight);
    connect(model, &TasksModel::recordsAdded, this, &TimelineView::addRecords);
    // The current job's bars are drawn in full, the others faded.
    connect(model, &QAbstractItemModel::modelReset, viewport(), qOverload<>(&QWidget::update));
    // Running bars grow with the clock between reports.
    m_grow.setInterval(GrowIntervalMs);
    connect(&m_grow, &QTimer::timeout, this, [this] {
        if (m_running.empty()) {
            m_grow.stop();
            return;
        }
        updateScrollBars();
        viewport()->update();
    });
    updateScrollBars();
}

QColor TimelineView::jobColor(int jobId)
{
    const QVector<QColor> palette = nodePalette();
    return palette.at(int(quint32(jobId) % quint32(palette.size())));
}

QColor TimelineView::barColor(const Bar &bar)
{
    switch (bar.status) {
    case stats::TaskStatus::Error:
        return TaskMapView::stateColor(TasksModel::Error);
    case stats::TaskStatus::Failed:
        return TaskMapView::stateColor(TasksModel::Failed);
    default:
        return jobColor(bar.jobId);
    }
}

void TimelineView::clear()
{
    m_lanes.clear();
    m_nodeLanes.clear();
    m_running.clear();
    m_grow.stop();
    m_firstUs = m_lastUs = -1;
    updateScrollBars();
    viewport()->update();
}

int TimelineView::laneFor(const QString &node, qint64 startUs, qint64 durationUs, const Live *own)
{
    // Clock jitter, but never so much that two short tasks at once share a lane.
    const qint64 tolerance = std::min(OverlapToleranceUs, durationUs / 4);
    QVector<int> &lanes = m_nodeLanes[node];
    // A task that was drawn running keeps its lane when it ends there.
    if (own && own->node == node && lanes.contains(own->lane)
        && m_lanes[size_t(own->lane)].freeFromUs <= startUs + tolerance)
        return own->lane;
    const std::vector<int> &holders = heldLanes();
    const auto held
        = [&holders, own](int lane) { return holders[size_t(lane)] - (own && own->lane == lane ? 1 : 0) > 0; };
    // First fit: of the lanes free at the bar's start, the one that became free last (a worker that just
    // finished its previous task); a lane per task running at once.
    int best = -1;
    int oldest = -1;
    for (int i : std::as_const(lanes)) {
        if (held(i))
            continue;
        const Lane &l = m_lanes[size_t(i)];
        if (l.freeFromUs <= startUs + tolerance && (best < 0 || l.freeFromUs > m_lanes[size_t(best)].freeFromUs))
            best = i;
        if (oldest < 0 || l.freeFromUs < m_lanes[size_t(oldest)].freeFromUs)
            oldest = i;
    }
    if (best >= 0)
        return best;
    const int workers = m_nodeWorkers.value(node, 0);
    if (lanes.size() >= (workers > 0 ? std::min(workers, MaxLanesPerNode) : MaxLanesPerNode))
        return oldest >= 0 ? oldest : lanes.first();
    // A new lane goes after the node's others, so that a node's lanes stay together.
    const int at = lanes.isEmpty() ? int(m_lanes.size()) : *std::max_element(lanes.cbegin(), lanes.cend()) + 1;
    for (QVector<int> &indices : m_nodeLanes)
        for (int &i : indices)
            if (i >= at)
                ++i;
    for (Live &l : m_running)
        if (l.lane >= at)
            ++l.lane;
    Lane lane;
    lane.node = node;
    lane.number = int(lanes.size()) + 1;
    m_lanes.insert(m_lanes.begin() + at, std::move(lane));
    lanes.append(at);
    m_heldStale = true; // lanes from at on moved
    const int wanted = fontMetrics().horizontalAdvance(node + QStringLiteral(" \u00b7 000")) + 24;
    m_labelWidth = std::max(m_labelWidth, std::min(wanted, 220));
    return at;
}

void TimelineView::setNodeWorkers(const QHash<QString, int> &workers)
{
    for (auto it = workers.cbegin(); it != workers.cend(); ++it) {
        int &most = m_nodeWorkers[it.key()];
        most = std::max(most, it.value());
    }
}

const std::vector<int> &TimelineView::heldLanes()
{
    if (m_heldStale || m_heldLanes.size() != m_lanes.size()) {
        m_heldLanes.assign(m_lanes.size(), 0);
        for (const Live &l : m_running)
            if (l.lane >= 0 && size_t(l.lane) < m_heldLanes.size())
                ++m_heldLanes[size_t(l.lane)];
        m_heldStale = false;
    }
    return m_heldLanes;
}

void TimelineView::addRecords(int jobId, const QVector<sched::TaskRecord> &records, qint64 receivedUs)
{
    bool added = false;
    // Which of the job's tasks are drawn running (most records are of others): looked up, not searched for.
    QSet<qint64> liveIndices;
    for (const Live &l : m_running)
        if (l.bar.jobId == jobId)
            liveIndices.insert(l.bar.index);
    for (const sched::TaskRecord &r : records) {
        // A cancelled task did not run; a task with no node (refused at submit) ran nowhere; a resumed job's
        // earlier results ran in another session, at times the journal does not have.
        if (r.status == stats::TaskStatus::Cancelled || r.nodeName.isEmpty()
            || r.startUs == sched::TaskRecord::EarlierSession)
            continue;
        Bar bar;
        bar.jobId = jobId;
        bar.index = r.index;
        bar.status = r.status;
        const auto live = !liveIndices.contains(r.index)
                              ? m_running.end()
                              : std::find_if(m_running.begin(), m_running.end(), [&](const Live &l) {
                                    return l.bar.jobId == jobId && l.bar.index == r.index;
                                });
        if (r.runtimeUs > 0) {
            // Ended when its record came, not before it could have: sent, then run for its run time.
            bar.endUs = std::max(r.startUs + r.runtimeUs, receivedUs);
            bar.startUs = bar.endUs - r.runtimeUs;
        } else {
            // A crash or a timeout reports no run time: from its sending to its record.
            bar.startUs = r.startUs;
            bar.endUs = std::max(r.startUs + 1000, receivedUs);
        }
        // Its final bar replaces its growing one, in the same lane when it ended there.
        const int lane
            = laneFor(r.nodeName, bar.startUs, bar.endUs - bar.startUs, live == m_running.end() ? nullptr : &*live);
        if (live != m_running.end()) {
            m_running.erase(live);
            m_heldStale = true;
        }
        m_lanes[size_t(lane)].append(bar);
        m_firstUs = m_firstUs < 0 ? bar.startUs : std::min(m_firstUs, bar.startUs);
        m_lastUs = std::max(m_lastUs, bar.endUs);
        added = true;
    }
    if (!added)
        return;
    // The oldest bar kept may have dropped out of its ring: the span starts at the oldest still kept.
    qint64 first = -1;
    for (const Lane &l : m_lanes)
        if (!l.ring.empty()) {
            const qint64 oldest = l.ring[l.ring.size() < size_t(MaxBarsPerLane) ? 0 : l.next].startUs;
            first = first < 0 ? oldest : std::min(first, oldest);
        }
    for (const Live &l : m_running)
        first = first < 0 ? l.bar.startUs : std::min(first, l.bar.startUs);
    m_firstUs = first;
    updateScrollBars();
    viewport()->update();
}

void TimelineView::setRunning(const sched::TaskReport &report)
{
    if (report.jobId < 0)
        return;
    m_reportUs = report.takenUs;
    m_sinceReport.start();
    std::vector<Live> before = std::exchange(m_running, {});
    m_heldStale = true;
    QHash<qint64, const Live *> beforeByIndex; // the attempts drawn before, by task (one report's worth)
    for (const Live &l : before)
        if (l.bar.jobId == report.jobId)
            beforeByIndex.insert(l.bar.index, &l);
    if (!report.jobOver) {
        // Of the current job, the attempts its Tasks view shows as running (the others wait on a node).
        const bool shown = report.jobId == m_model->currentJob();
        for (const sched::RunningAttempt &a : report.running) {
            if (a.nodeName.isEmpty() || (shown && m_model->stateAt(a.index) != TasksModel::Running))
                continue;
            Live live;
            live.bar.jobId = report.jobId;
            live.bar.index = a.index;
            live.bar.startUs = a.startUs;
            live.bar.running = true;
            live.node = a.nodeName;
            const Live *was = beforeByIndex.value(a.index);
            if (was && was->node == a.nodeName && was->bar.startUs == a.startUs)
                live.lane = was->lane; // the same attempt keeps its lane
            m_running.push_back(live);
        }
        // Lanes for the new ones, after the kept ones hold theirs.
        m_heldStale = true;
        for (Live &l : m_running)
            if (l.lane < 0) {
                l.lane = laneFor(l.node, l.bar.startUs, std::max<qint64>(1000, m_reportUs - l.bar.startUs), &l);
                if (!m_heldStale) // the next placement must see this lane taken
                    ++m_heldLanes[size_t(l.lane)];
            }
        for (const Live &l : m_running)
            m_firstUs = m_firstUs < 0 ? l.bar.startUs : std::min(m_firstUs, l.bar.startUs);
    }
    if (m_running.empty())
        m_grow.stop();
    else if (!m_grow.isActive())
        m_grow.start();
    if (!m_running.empty() || !before.empty()) {
        updateScrollBars();
        viewport()->update();
    }
}

qint64 TimelineView::nowUs() const
{
    return m_reportUs < 0 ? -1 : m_reportUs + m_sinceReport.nsecsElapsed() / 1000;
}

qint64 TimelineView::spanEndUs() const
{
    return m_running.empty() ? m_lastUs : std::max(m_lastUs, nowUs());
}

QVector<TimelineView::Bar> TimelineView::runningBars(int lane) const
{
    QVector<Bar> out;
    const qint64 now = nowUs();
    for (const Live &l : m_running)
        if (l.lane == lane) {
            Bar b = l.bar;
            b.endUs = std::max(b.startUs + 1, now);
            out.append(b);
        }
    return out;
}

template <typename F>
void TimelineView::forEachBar(F f) const
{
    for (size_t i = 0; i < m_lanes.size(); ++i)
        m_lanes[i].forEach([&](const Bar &b) { f(b, int(i)); });
    const qint64 now = nowUs();
    for (const Live &l : m_running) {
        Bar b = l.bar;
        b.endUs = std::max(b.startUs + 1, now);
        f(b, l.lane);
    }
}

QStringList TimelineView::laneNames() const
{
    QStringList names;
    for (const Lane &l : m_lanes)
        names << QStringLiteral("%1 \u00b7 %2").arg(l.node).arg(l.number);
    return names;
}

QVector<TimelineView::Bar> TimelineView::bars(int lane) const
{
    QVector<Bar> out;
    if (lane >= 0 && size_t(lane) < m_lanes.size())
        m_lanes[size_t(lane)].forEach([&out](const Bar &b) { out.append(b); });
    return out;
}

qint64 TimelineView::barCount() const
{
    qint64 n = 0;
    for (const Lane &l : m_lanes)
        n += qint64(l.ring.size());
    return n;
}

int TimelineView::topMargin() const
{
    return fontMetrics().height() + 6; // the time axis
}

double TimelineView::xOf(qint64 us) const
{
    return m_labelWidth + double(us - std::max<qint64>(0, m_firstUs)) / 1e6 * m_pxPerSecond
           - horizontalScrollBar()->value();
}

qint64 TimelineView::usAt(double x) const
{
    return std::max<qint64>(0, m_firstUs)
           + qint64((x - m_labelWidth + horizontalScrollBar()->value()) / m_pxPerSecond * 1e6);
}

void TimelineView::fitToView()
{
    m_fit = true;
    m_follow = true;
    updateScrollBars();
    viewport()->update();
}

void TimelineView::mouseDoubleClickEvent(QMouseEvent *)
{
    fitToView();
}

void TimelineView::setPixelsPerSecond(double px)
{
    m_fit = false;
    m_pxPerSecond = std::clamp(px, MinPxPerSecond, MaxPxPerSecond);
    updateScrollBars();
    viewport()->update();
}

void TimelineView::zoomBy(double factor, int anchorX)
{
    const int x = anchorX < 0 ? viewport()->width() / 2 : anchorX;
    const qint64 anchorUs = usAt(x);
    const bool follow = m_follow;
    setPixelsPerSecond(m_pxPerSecond * factor);
    if (!follow) {
        // Keep the time under the anchor where it was.
        const double content = double(anchorUs - std::max<qint64>(0, m_firstUs)) / 1e6 * m_pxPerSecond;
        horizontalScrollBar()->setValue(int(std::lround(content - (x - m_labelWidth))));
    }
}

void TimelineView::updateScrollBars()
{
    const int visible = std::max(1, viewport()->width() - m_labelWidth - RightMargin);
    const qint64 endUs = spanEndUs(); // once: while bars grow it is the clock, which moves between two reads
    if (m_fit && m_firstUs >= 0)
        m_pxPerSecond = std::clamp(double(visible) / (double(std::max<qint64>(1000, endUs - m_firstUs)) / 1e6),
                                   MinFitPixelsPerSecond, MaxPxPerSecond);
    const double span = m_firstUs < 0 ? 0.0 : double(endUs - m_firstUs) / 1e6 * m_pxPerSecond;
    QScrollBar *h = horizontalScrollBar();
    const bool wasAtEnd = h->value() >= h->maximum();
    h->setPageStep(visible);
    // A span that fits exactly may come out a hair above the width (floating point): no 1-pixel scroll range.
    h->setRange(0, int(std::min(double(INT_MAX / 2), std::max(0.0, std::ceil(span - 1e-6) - visible))));
    if (m_follow || wasAtEnd)
        h->setValue(h->maximum());
    QScrollBar *v = verticalScrollBar();
    const int lanesHeight = int(m_lanes.size()) * LaneHeight;
    const int visibleHeight = std::max(1, viewport()->height() - topMargin());
    v->setPageStep(visibleHeight);
    v->setRange(0, std::max(0, lanesHeight - visibleHeight));
}

void TimelineView::scrollContentsBy(int, int)
{
    // Following the clock stops when the user scrolls back, and starts again at the newest end.
    m_follow = horizontalScrollBar()->value() >= horizontalScrollBar()->maximum();
    viewport()->update();
}

void TimelineView::resizeEvent(QResizeEvent *event)
{
    QAbstractScrollArea::resizeEvent(event);
    updateScrollBars();
}

QRect TimelineView::barGeometry(const Bar &bar, int laneY) const
{
    // Whole pixels, and a 2-pixel gap at the end of a bar wide enough: back-to-back tasks read as bars.
    const int left = int(std::lround(xOf(bar.startUs)));
    const int right = int(std::lround(xOf(bar.endUs)));
    const int w = right - left >= 6 ? right - left - 2 : std::max(1, right - left);
    return {left, laneY + 2, w, LaneHeight - 4};
}

QRect TimelineView::barRect(int jobId, int index) const
{
    const int top = topMargin() - verticalScrollBar()->value();
    QRect found;
    forEachBar([&](const Bar &b, int lane) {
        if (found.isNull() && b.jobId == jobId && b.index == index)
            found = barGeometry(b, top + lane * LaneHeight);
    });
    if (found.isNull())
        return {};
    return found.intersected(
        QRect(m_labelWidth, topMargin(), viewport()->width() - m_labelWidth, viewport()->height() - topMargin()));
}

bool TimelineView::barAt(const QPoint &pos, Bar *bar) const
{
    if (pos.x() < m_labelWidth || pos.y() < topMargin())
        return false;
    const int lane = (pos.y() - topMargin() + verticalScrollBar()->value()) / LaneHeight;
    if (lane < 0 || size_t(lane) >= m_lanes.size())
        return false;
    // A bar narrower than 3 pixels can be hit from a pixel either side.
    const qint64 us = usAt(pos.x());
    const qint64 slack = qint64(2e6 / m_pxPerSecond);
    bool found = false;
    forEachBar([&](const Bar &b, int in) {
        if (in == lane && us >= b.startUs - slack && us <= b.endUs + slack) {
            *bar = b;
            found = true;
        }
    });
    return found;
}

void TimelineView::mousePressEvent(QMouseEvent *event)
{
    Bar bar;
    if (barAt(event->position().toPoint(), &bar))
        emit barClicked(bar.jobId, bar.index);
}

void TimelineView::wheelEvent(QWheelEvent *event)
{
    if (event->modifiers() & Qt::ControlModifier) {
        const int steps = event->angleDelta().y() / 120;
        if (steps != 0)
            zoomBy(std::pow(1.25, steps), int(event->position().x()));
        event->accept();
        return;
    }
    QAbstractScrollArea::wheelEvent(event);
}

bool TimelineView::viewportEvent(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        const auto *help = static_cast<QHelpEvent *>(event);
        Bar bar;
        if (barAt(help->pos(), &bar)) {
            if (bar.running)
                QToolTip::showText(
                    help->globalPos(),
                    tr("Job %1, task %2: running\nsince %3 (%4 so far)")
                        .arg(bar.jobId)
                        .arg(bar.index)
                        .arg(m_model->clockTime(bar.startUs), formatSeconds(double(bar.endUs - bar.startUs) / 1e6)),
                    viewport());
            else
                QToolTip::showText(help->globalPos(),
                                   tr("Job %1, task %2: %3\n%4 to %5 (%6)")
                                       .arg(bar.jobId)
                                       .arg(bar.index)
                                       .arg(stateWord(bar.status), m_model->clockTime(bar.startUs),
                                            m_model->clockTime(bar.endUs),
                                            formatSeconds(double(bar.endUs - bar.startUs) / 1e6)),
                                   viewport());
        } else {
            QToolTip::hideText();
        }
        return true;
    }
    return QAbstractScrollArea::viewportEvent(event);
}

void TimelineView::paintEvent(QPaintEvent *)
{
    QPainter p(viewport());
    const QRect all = viewport()->rect();
    p.fillRect(all, palette().base());
    const QFontMetrics fm = fontMetrics();
    if (m_lanes.empty() && m_running.empty()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(all, Qt::AlignCenter | Qt::TextWordWrap,
                   tr("Each worker a lane, each task a bar coloured by its job: running tasks grow here, ended "
                      "ones stay."));
        return;
    }
    const int top = topMargin();
    const int scrollY = verticalScrollBar()->value();
    const QRect plot(m_labelWidth, top, all.width() - m_labelWidth, all.height() - top);

    // Time axis: ticks at a round step, labelled with clock times.
    const double minGapPx = fm.horizontalAdvance(QStringLiteral("00:00:00.000")) + 16;
    static const double steps[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2,  0.5,  1,    2,     5,
                                   10,    15,    30,    60,   120,  300,  600, 1800, 3600, 7200, 21600, 86400};
    double step = steps[std::size(steps) - 1];
    for (double s : steps)
        if (s * m_pxPerSecond >= minGapPx) {
            step = s;
            break;
        }
    const qint64 stepUs = std::max<qint64>(1, qint64(step * 1e6));
    const qint64 fromUs = usAt(m_labelWidth);
    const qint64 toUs = usAt(all.width());
    // Ticks at round clock times (14:03:10, 14:03:15, …), not round times since the controller started.
    const qint64 originUs = std::max<qint64>(0, m_model->clockOriginMs()) * 1000 % (qint64(86400) * 1000000);
    const qint64 firstTick = ((fromUs + originUs) / stepUs) * stepUs - originUs;
    p.setPen(palette().color(QPalette::Mid));
    for (qint64 t = firstTick; t <= toUs; t += stepUs) {
        const double x = xOf(t);
        if (x < m_labelWidth)
            continue;
        p.setPen(QPen(palette().color(QPalette::Mid), 1, Qt::DotLine));
        p.drawLine(QPointF(x, top - 2), QPointF(x, all.height()));
        p.setPen(palette().color(QPalette::Text));
        QString label = m_model->clockTime(t);
        if (step >= 1 && label.endsWith(QStringLiteral(".000")))
            label.chop(4);
        else if (step >= 0.1 && label.endsWith(QStringLiteral("00")))
            label.chop(2);
        if (x + 2 + fm.horizontalAdvance(label) <= all.width()) // no label cut by the edge
            p.drawText(QPointF(x + 2, fm.ascent() + 2), label);
    }

    // Bars, lane by lane; the current job's in full, others faded.
    const int current = m_model->currentJob();
    p.save();
    p.setClipRect(plot);
    for (size_t i = 0; i < m_lanes.size(); ++i) {
        const int y = top + int(i) * LaneHeight - scrollY;
        if (y + LaneHeight >= top && y <= all.height() && i % 2 == 1)
            p.fillRect(QRect(m_labelWidth, y, plot.width(), LaneHeight), palette().alternateBase());
    }
    forEachBar([&](const Bar &b, int lane) {
        const int y = top + lane * LaneHeight - scrollY;
        if (y + LaneHeight < top || y > all.height())
            return;
        const double x0 = xOf(b.startUs);
        const double x1 = xOf(b.endUs);
        if (x1 < m_labelWidth || x0 > all.width())
            return;
        QColor c = barColor(b);
        if (b.running)
            c = c.lighter(135); // as the task map draws a running task: its colour, lighter
        if (current >= 0 && b.jobId != current)
            c.setAlpha(90);
        const QRect r = barGeometry(b, y);
        p.fillRect(r, c);
        if (b.running) {
            p.fillRect(QRect(r.right() - 1, r.top(), 2, r.height()), barColor(b).darker(130)); // its growing edge
        } else if (r.width() >= 6 && b.status != stats::TaskStatus::Ok) {
            p.setPen(QPen(Qt::white, 1.2));
            p.drawLine(r.topLeft() + QPoint(1, 1), r.bottomRight() - QPoint(1, 1));
        }
    });
    p.restore();

    // Lane names, over everything at the left.
    p.fillRect(QRect(0, 0, m_labelWidth, all.height()), palette().window());
    p.setPen(palette().color(QPalette::WindowText));
    for (size_t i = 0; i < m_lanes.size(); ++i) {
        const int y = top + int(i) * LaneHeight - scrollY;
        if (y + LaneHeight < top || y > all.height())
            continue;
        const Lane &l = m_lanes[i];
        const QString name = fm.elidedText(l.node, Qt::ElideMiddle, m_labelWidth - 40);
        p.drawText(QRect(6, y, m_labelWidth - 10, LaneHeight), Qt::AlignVCenter | Qt::AlignLeft,
                   QStringLiteral("%1 \u00b7 %2").arg(name).arg(l.number));
    }
    // Above the lanes, the key of the colour the selected job's bars are in full.
    if (current >= 0) {
        const QRect key(4, (top - 10) / 2, 10, 10);
        p.fillRect(key, jobColor(current));
        p.drawText(QRect(18, 0, m_labelWidth - 20, top), Qt::AlignVCenter | Qt::AlignLeft, tr("job %1").arg(current));
    }
    p.setPen(palette().color(QPalette::Mid));
    p.drawLine(m_labelWidth - 1, 0, m_labelWidth - 1, all.height());
    p.drawLine(m_labelWidth, top - 1, all.width(), top - 1);
}

} // namespace taskfleet::gui
