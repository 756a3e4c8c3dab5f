// SPDX-License-Identifier: MIT
// The tasks waiting in a worker pool: one FIFO lane per owner, served so that owners share worker time.
#pragma once

#include <QtCore/QtGlobal>

#include <algorithm>
#include <deque>
#include <vector>

namespace taskfleet::exec {

/**
 * An agent serves several controllers from one pool. With one FIFO, a controller that keeps long tasks
 * queued delays every tiny task of another behind them (seen: 33 s instead of 0.06 s). Here each owner
 * (PoolTask::lane: a controller's session on an agent; 0 in a local pool) has its own FIFO, and the pool
 * takes its next batch from the lane that has used the least worker time, like a fair-share scheduler.
 * A lane that comes back after being empty keeps its own account but at most Allowance below the least
 * served active lane, so idling earns no lasting credit. Within a lane, order is kept.
 */
template <typename Task>
class FairQueue
{
public:
    /** How much worker time a returning lane may claim ahead of the others. */
    static constexpr double AllowanceUs = 100'000;

    bool empty() const { return m_active == 0; }
    qsizetype size() const
    {
        qsizetype n = 0;
        for (const Lane &l : m_lanes)
            n += qsizetype(l.tasks.size());
        return n;
    }

    void push(Task task) { activate(task.lane).tasks.push_back(std::move(task)); }
    /** For requeueing: the task goes back to the front of its lane. */
    void pushFront(Task task) { activate(task.lane).tasks.push_front(std::move(task)); }

    /** The lane to take from next: the non-empty one with the least worker time. Only valid if !empty(). */
    std::deque<Task> &next()
    {
        return nextPreferring([](quint32) { return false; });
    }

    /**
     * Like next(), but among the non-empty lanes for which \a preferred(lane) holds first (the pool's lanes
     * below their fair share of the workers), if there are any.
     */
    template <typename Pred>
    std::deque<Task> &nextPreferring(Pred preferred)
    {
        Lane *best = nullptr;
        bool bestPreferred = false;
        for (Lane &l : m_lanes) {
            if (l.tasks.empty())
                continue;
            const bool p = preferred(l.id);
            if (!best || (p && !bestPreferred) || (p == bestPreferred && l.usedUs < best->usedUs)) {
                best = &l;
                bestPreferred = p;
            }
        }
        return best->tasks;
    }

    /** True if \a lane has tasks waiting. */
    bool hasTasks(quint32 lane) const
    {
        for (const Lane &l : m_lanes)
            if (l.id == lane)
                return !l.tasks.empty();
        return false;
    }

    /** Calls \a f(lane) for every lane with tasks waiting. */
    template <typename F>
    void forEachWaitingLane(F f) const
    {
        for (const Lane &l : m_lanes)
            if (!l.tasks.empty())
                f(l.id);
    }

    /** Call after taking tasks from next() (or removing any): updates which lanes are active. */
    void settle()
    {
        m_active = 0;
        for (const Lane &l : m_lanes)
            m_active += l.tasks.empty() ? 0 : 1;
        if (m_active == 0)
            m_lanes.clear(); // nobody waits: no account is worth keeping
    }

    /** Worker time a task of \a lane used (its measured runtime). */
    void charge(quint32 lane, qint64 runtimeUs)
    {
        for (Lane &l : m_lanes)
            if (l.id == lane)
                l.usedUs += double(runtimeUs);
    }

    /** Removes and returns every task for which \a pred holds. */
    template <typename Pred>
    std::vector<Task> takeIf(Pred pred)
    {
        std::vector<Task> out;
        for (Lane &lane : m_lanes) {
            for (auto it = lane.tasks.begin(); it != lane.tasks.end();) {
                if (pred(*it)) {
                    out.push_back(std::move(*it));
                    it = lane.tasks.erase(it);
                } else {
                    ++it;
                }
            }
        }
        settle();
        return out;
    }

private:
    struct Lane {
        quint32 id = 0;
        std::deque<Task> tasks;
        double usedUs = 0;
    };

    Lane &activate(quint32 id)
    {
        double leastActive = -1;
        Lane *found = nullptr;
        for (Lane &l : m_lanes) {
            if (l.id == id)
                found = &l;
            else if (!l.tasks.empty() && (leastActive < 0 || l.usedUs < leastActive))
                leastActive = l.usedUs;
        }
        if (!found) {
            m_lanes.push_back(Lane {id, {}, 0});
            found = &m_lanes.back();
        }
        if (found->tasks.empty()) {
            if (leastActive >= 0)
                found->usedUs = std::max(found->usedUs, leastActive - AllowanceUs);
            ++m_active;
        }
        return *found;
    }

    std::vector<Lane> m_lanes; // few: one per connected controller
    int m_active = 0;          // lanes with tasks
};

} // namespace taskfleet::exec
