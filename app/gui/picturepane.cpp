// SPDX-License-Identifier: MIT
// The window's right-hand pane: the Mandelbrot picture for a job that draws one, else the task map.
#include "picturepane.h"

#include "mandelbrotview.h"
#include "taskmapview.h"

#include <QtCore/QSettings>
#include <QtWidgets/QCheckBox>
#include <QtWidgets/QStackedWidget>
#include <QtWidgets/QVBoxLayout>

namespace taskfleet::gui {

PicturePane::PicturePane(TasksModel *tasks, bool rememberTint, QWidget *parent)
    : QGroupBox(tr("Task Map"), parent)
    , m_stack(new QStackedWidget(this))
{
    m_taskMap = new TaskMapView(tasks, m_stack);
    auto *picturePage = new QWidget(m_stack);
    m_mandelbrot = new MandelbrotView(picturePage);
    m_tint = new QCheckBox(tr("Tint tiles by node"), picturePage);
    connect(m_tint, &QCheckBox::toggled, m_mandelbrot, &MandelbrotView::setTintByNode);
    if (rememberTint) {
        m_tint->setChecked(QSettings().value(QStringLiteral("ui/tintByNode"), false).toBool());
        connect(m_tint, &QCheckBox::toggled, this,
                [](bool on) { QSettings().setValue(QStringLiteral("ui/tintByNode"), on); });
    }
    auto *pictureLayout = new QVBoxLayout(picturePage);
    pictureLayout->setContentsMargins(4, 4, 4, 4);
    pictureLayout->addWidget(m_mandelbrot, 1);
    pictureLayout->addWidget(m_tint);
    m_stack->addWidget(m_taskMap);
    m_stack->addWidget(picturePage);
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_stack);
}

QWidget *PicturePane::currentPage() const
{
    return m_stack->currentWidget();
}

void PicturePane::showFor(int jobId)
{
    const bool picture = m_mandelbrot->hasPicture(jobId);
    m_stack->setCurrentIndex(picture ? 1 : 0);
    setTitle(picture ? tr("Picture") : tr("Task Map"));
}

} // namespace taskfleet::gui
