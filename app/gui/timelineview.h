// SPDX-License-Identifier: MIT
// The task stream: one lane per worker, one bar per task that ran, coloured by job.
#pragma once

#include "sched/controller.h"
#include "sched/taskreport.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QSet>
#include <QtCore/QHash>
#include <QtCore/QTimer>
#include <QtWidgets/QAbstractScrollArea>

#include <vector>

namespace taskfleet::gui {

class TasksModel;

/**
 * Dask's task stream for Taskfleet: each worker of each node a lane, each task that ran a bar from its
 * start to its end, coloured by its job (jobColor()); an error or failure in the task map's orange or red.
 * Bars of jobs other than the Tasks view's current one are drawn faded. Time runs left to right; the view
 * scrolls over everything kept and, while it shows the newest second, follows the clock. Until the user
 * zooms (Ctrl+wheel, zoomBy(), setPixelsPerSecond()) the scale fits everything kept into the view, down to
 * MinFitPixelsPerSecond (then it scrolls); a double-click fits again. A click on a bar emits barClicked().
 *
 * Records say on which node a task ran, when its final attempt was sent and how long it ran, not which
 * worker ran it. A bar ends when the window received the task's record (TasksModel::recordsAdded(), never
 * before its send time plus its run time) and starts its run time earlier; bars are put into the node's
 * lanes first-fit (the lane that became free last before the bar starts), so a node shows as many lanes as
 * it ran tasks at once: its busy workers. Memory is bounded whatever the job's size: at most
 * MaxLanesPerNode lanes a node and the last MaxBarsPerLane bars a lane (a ring; older ones drop out).
 *
 * Tasks running now come from the controller's TaskReport (setRunning(), the job whose reports the window
 * asks for: the Tasks view's current one) as bars from their start that grow up to the clock now, in a lane of
 * their own that no other bar takes meanwhile; a task's final record replaces its growing bar in that lane.
 */
class TimelineView : public QAbstractScrollArea
{
    Q_OBJECT

public:
    static constexpr int MaxBarsPerLane = 1000;
    static constexpr int MaxLanesPerNode = 256;
    static constexpr int LaneHeight = 16;
    /**
     * A bar may start this early before its lane's previous bar ended and still take that lane (clock jitter),
     * or a quarter of its own length if that is less.
     */
    static constexpr qint64 OverlapToleranceUs = 20000;
    /** The fitted scale's floor: a longer span scrolls. */
    static constexpr double MinFitPixelsPerSecond = 10;

    struct Bar {
        qint64 startUs = 0; ///< controller clock
        qint64 endUs = 0;
        int jobId = 0;
        int index = 0;
        stats::TaskStatus status = stats::TaskStatus::Ok;
        bool running = false; ///< still running: endUs is the clock now
    };
    /** How often growing bars are redrawn while tasks run. */
    static constexpr int GrowIntervalMs = 200;

    explicit TimelineView(TasksModel *model, QWidget *parent = nullptr);

    /** Takes these records (as TasksModel::recordsAdded() gives them); \a receivedUs -1: at their send time plus run time. */
    void addRecords(int jobId, const QVector<sched::TaskRecord> &records, qint64 receivedUs);
    /**
     * The attempts of \a report's job that workers run now (of the Tasks view's current job, only those it
     * shows as running, not those waiting on a node for a worker): growing bars. Replaces the running bars
     * of every job (reports come for one job at a time); a job that is over has none.
     */
    void setRunning(const sched::TaskReport &report);
    /**
     * How many workers each node (by name) has: a node gets no more lanes than the most workers it had. Records
     * of tiny tasks come in batches and end, as drawn, when their batch came, so without the bound they would
     * seem to overlap and take MaxLanesPerNode lanes (and every placement would look at all of them).
     */
    void setNodeWorkers(const QHash<QString, int> &workers);
    /** Forgets every bar. */
    void clear();

    /** Lanes, in the order drawn: "node · 1", "node · 2", … */
    QStringList laneNames() const;
    /** The bars kept in lane \a lane, oldest first. */
    QVector<Bar> bars(int lane) const;
    /** Every bar kept, over all lanes (running ones not counted). */
    qint64 barCount() const;
    /** The growing bars in lane \a lane (endUs: the clock now). */
    QVector<Bar> runningBars(int lane) const;
    /** The controller's clock now, as the latest report and the time since it tell it (-1 before any report). */
    qint64 nowUs() const;
    /** The time span kept: the first bar's start to the last bar's end (controller clock, µs). */
    qint64 firstUs() const { return m_firstUs; }
    qint64 lastUs() const { return m_lastUs; }
    /** A job's bar colour: from the nodes' palette (no reds or oranges, which are errors and failures). */
    static QColor jobColor(int jobId);
    /** The colour of \a bar as drawn (jobColor(), or the task map's colour for an error or a failure). */
    static QColor barColor(const Bar &bar);

    /** Pixels per second of the time axis. */
    double pixelsPerSecond() const { return m_pxPerSecond; }
    void setPixelsPerSecond(double px);
    /** Zooms by \a factor, keeping the time under the viewport's x = \a anchorX where it is. */
    void zoomBy(double factor, int anchorX = -1);
    /** Fits everything kept into the view (down to MinFitPixelsPerSecond) from now on, until the next zoom. */
    void fitToView();
    bool isFitted() const { return m_fit; }
    /** Where the bar with this job and task is drawn, in viewport coordinates (empty when not kept or not in view). */
    QRect barRect(int jobId, int index) const;
    /** The bar at \a pos (viewport coordinates): true and *bar set when there is one. */
    bool barAt(const QPoint &pos, Bar *bar) const;
    /** Width of the lane names at the left. */
    int labelWidth() const { return m_labelWidth; }

    QSize sizeHint() const override { return {480, 240}; }

signals:
    void barClicked(int jobId, int index);

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    bool viewportEvent(QEvent *event) override;
    void scrollContentsBy(int dx, int dy) override;

private:
    struct Lane {
        QString node;
        int number = 1;         ///< 1-based, within its node
        std::vector<Bar> ring;  ///< at most MaxBarsPerLane
        size_t next = 0;        ///< where the next bar goes once the ring is full
        qint64 freeFromUs = -1; ///< the end of its latest bar
        void append(const Bar &bar);
        template <typename F>
        void forEach(F f) const;
    };
    struct Live {
        Bar bar;
        QString node;
        int lane = -1;
    };
    /**
     * The lane for a bar of \a node starting at \a startUs (first fit, never a lane a running bar holds other than
     * \a own's), made when none is free.
     */
    int laneFor(const QString &node, qint64 startUs, qint64 durationUs, const Live *own = nullptr);
    /** The latest end drawn: the last ended bar's, or now while tasks run. */
    qint64 spanEndUs() const;
    /** Calls \a f(bar, lane) for every bar drawn, ended and running (endUs now). */
    template <typename F>
    void forEachBar(F f) const;
    void updateScrollBars();
    /** Viewport x of a controller time, and back. */
    double xOf(qint64 us) const;
    qint64 usAt(double x) const;
    int topMargin() const;
    /** Where \a bar is drawn in a lane whose top is at \a laneY (viewport coordinates). */
    QRect barGeometry(const Bar &bar, int laneY) const;

    TasksModel *m_model;
    std::vector<Lane> m_lanes;
    QHash<QString, QVector<int>> m_nodeLanes; ///< node name -> its lanes, in m_lanes
    QHash<QString, int> m_nodeWorkers;        ///< node name -> the most workers it had (setNodeWorkers())
    qint64 m_firstUs = -1;
    qint64 m_lastUs = -1;
    std::vector<Live> m_running; ///< tasks running now: a few per node
    /// How many of m_running hold each lane; rebuilt when stale. Placing a bar asks it for every lane of the node,
    /// so it must not cost a scan of m_running each time (a 1 M-task job places 1 M bars).
    std::vector<int> m_heldLanes;
    bool m_heldStale = true;
    const std::vector<int> &heldLanes();
    qint64 m_reportUs = -1; ///< the latest report's controller time
    QElapsedTimer m_sinceReport;
    QTimer m_grow;
    double m_pxPerSecond = 40;
    bool m_follow = true; ///< the view keeps the newest bar in sight
    bool m_fit = true;    ///< the scale fits the span to the view (until the user zooms)
    int m_labelWidth = 110;
};

} // namespace taskfleet::gui
