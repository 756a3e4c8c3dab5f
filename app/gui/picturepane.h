// SPDX-License-Identifier: MIT
// The window's right-hand pane: the Mandelbrot picture for a job that draws one, else the task map.
#pragma once

#include <QtWidgets/QGroupBox>

class QCheckBox;
class QStackedWidget;

namespace taskfleet::gui {

class MandelbrotView;
class TaskMapView;
class TasksModel;

/**
 * A group box holding two pages: the task map of the selected job (TaskMapView) and, for a Mandelbrot
 * job, its picture (MandelbrotView) with "Tint tiles by node". Its title says which is shown.
 */
class PicturePane : public QGroupBox
{
    Q_OBJECT

public:
    /** \a rememberTint: "Tint tiles by node" is kept in QSettings (ui/tintByNode). */
    PicturePane(TasksModel *tasks, bool rememberTint, QWidget *parent = nullptr);

    MandelbrotView *mandelbrot() const { return m_mandelbrot; }
    TaskMapView *taskMap() const { return m_taskMap; }
    /** The page shown: the task map, or the picture page (the Mandelbrot view's parent). */
    QWidget *currentPage() const;
    /** Shows the picture when job \a jobId draws one, else the task map. */
    void showFor(int jobId);

private:
    MandelbrotView *m_mandelbrot;
    TaskMapView *m_taskMap;
    QCheckBox *m_tint;
    QStackedWidget *m_stack;
};

} // namespace taskfleet::gui
