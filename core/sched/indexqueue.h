// SPDX-License-Identifier: MIT
// A queue of task indices that stores runs of consecutive indices, not each index.
#pragma once

#include <cstddef>
#include <deque>

namespace taskfleet::sched {

/**
 * The task indices a job has waiting, front first: a std::deque<int> in behaviour (the same
 * sequence after any push_front/push_back/pop_front), stored as runs of consecutive ascending
 * indices. A fresh job of n tasks is one run [0, n), 8 bytes instead of 4n; a retried task pushed
 * back to the front is a run of one. Only duplicates or gaps cost a run each.
 */
class IndexQueue
{
public:
    bool empty() const { return m_size == 0; }
    std::size_t size() const { return m_size; }
    int front() const { return m_runs.front().first; }
    void pop_front()
    {
        Run &r = m_runs.front();
        if (++r.first == r.end)
            m_runs.pop_front();
        --m_size;
    }
    void push_front(int index)
    {
        if (!m_runs.empty() && m_runs.front().first == index + 1)
            --m_runs.front().first;
        else
            m_runs.push_front(Run {index, index + 1});
        ++m_size;
    }
    void push_back(int index)
    {
        if (!m_runs.empty() && m_runs.back().end == index)
            ++m_runs.back().end;
        else
            m_runs.push_back(Run {index, index + 1});
        ++m_size;
    }
    void clear()
    {
        m_runs.clear();
        m_size = 0;
    }
    /** How many runs are stored (for tests and memory figures). */
    std::size_t runCount() const { return m_runs.size(); }

private:
    struct Run {
        int first; ///< the next index of this run
        int end;   ///< one past its last
    };
    std::deque<Run> m_runs;
    std::size_t m_size = 0;
};

} // namespace taskfleet::sched
