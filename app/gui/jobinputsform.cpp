// SPDX-License-Identifier: MIT
// The inputs part of the job dialogs: a list, a range or a text file, plus retries and timeout.
#include "jobinputsform.h"

#include "util/jsontocbor.h"

#include "sched/jobfile.h"

#include <QtCore/QFile>
#include <QtCore/QRegularExpression>
#include <QtWidgets/QComboBox>
#include <QtWidgets/QFileDialog>
#include <QtWidgets/QFormLayout>
#include <QtWidgets/QHBoxLayout>
#include <QtWidgets/QLineEdit>
#include <QtWidgets/QPlainTextEdit>
#include <QtWidgets/QPushButton>
#include <QtWidgets/QSpinBox>
#include <QtWidgets/QStackedWidget>

#include <algorithm>

namespace taskfleet::gui {

JobInputsForm::JobInputsForm(QWidget *dialog)
    : m_dialog(dialog)
    , m_kind(new QComboBox(dialog))
    , m_pages(new QStackedWidget(dialog))
    , m_list(new QPlainTextEdit(dialog))
    , m_start(new QSpinBox(dialog))
    , m_stop(new QSpinBox(dialog))
    , m_step(new QSpinBox(dialog))
    , m_file(new QLineEdit(dialog))
    , m_retries(new QSpinBox(dialog))
    , m_timeout(new QSpinBox(dialog))
{
    m_kind->setObjectName(QStringLiteral("inputKind"));
    m_kind->addItems(
        {tr("List (one JSON value per line)"), tr("Range of integers"), tr("Text file (one input per line)")});
    m_list->setObjectName(QStringLiteral("inputList"));
    m_list->setPlaceholderText(tr("1\n2\n\"text\"\n{\"key\": 3}"));
    m_pages->addWidget(m_list);
    auto *range = new QWidget(dialog);
    auto *rangeForm = new QFormLayout(range);
    for (QSpinBox *s : {m_start, m_stop, m_step})
        s->setRange(-2000000000, 2000000000);
    m_stop->setValue(100);
    m_step->setValue(1);
    rangeForm->addRow(tr("Start:"), m_start);
    rangeForm->addRow(tr("Stop (excluded):"), m_stop);
    rangeForm->addRow(tr("Step:"), m_step);
    m_pages->addWidget(range);
    auto *filePage = new QWidget(dialog);
    auto *fileRow = new QHBoxLayout(filePage);
    auto *browse = new QPushButton(tr("Browse…"), filePage);
    fileRow->addWidget(m_file);
    fileRow->addWidget(browse);
    QObject::connect(browse, &QPushButton::clicked, m_file, [this] {
        const QString f = QFileDialog::getOpenFileName(m_dialog, tr("Inputs file"));
        if (!f.isEmpty())
            m_file->setText(f);
    });
    m_pages->addWidget(filePage);
    QObject::connect(m_kind, &QComboBox::currentIndexChanged, m_pages, &QStackedWidget::setCurrentIndex);

    m_retries->setRange(0, 20);
    m_retries->setValue(2);
    m_timeout->setRange(0, 86400);
    m_timeout->setSpecialValueText(tr("none"));
    m_timeout->setSuffix(tr(" s"));
}

void JobInputsForm::addRows(QFormLayout *form, QWidget *note)
{
    form->addRow(tr("Inputs:"), m_kind);
    form->addRow(m_pages);
    if (note)
        form->addRow(note);
    form->addRow(tr("Retries:"), m_retries);
    form->addRow(tr("Timeout per task:"), m_timeout);
}

void JobInputsForm::setListPlaceholder(const QString &text)
{
    m_list->setPlaceholderText(text);
}

bool JobInputsForm::fill(sched::JobSpec *spec, QString *error) const
{
    spec->retries = m_retries->value();
    spec->timeoutMs = qint64(m_timeout->value()) * 1000;
    spec->inputs.clear();
    switch (m_kind->currentIndex()) {
    case 0: {
        const QStringList lines = m_list->toPlainText().split(QLatin1Char('\n'));
        for (int i = 0; i < lines.size(); ++i) {
            const QString line = lines.at(i).trimmed();
            if (line.isEmpty())
                continue;
            // Read as job files are (util::parseJsonExact): exact 64-bit integers, and a key named twice in an
            // object is refused with where it is, not silently resolved to the last one.
            QCborValue value;
            QString why;
            util::JsonRefusal refusal = util::JsonRefusal::NotJson;
            util::JsonReadOptions options;
            options.uniqueKeys = true;
            options.refusal = &refusal;
            if (!util::parseJsonExact(line.toUtf8(), &value, &why, options)) {
                // The value is one line of the list: its "line 1, column C" is that line's.
                why.replace(QRegularExpression(QStringLiteral("^line 1, ")), QString());
                *error = refusal == util::JsonRefusal::DuplicateKey
                             ? tr("line %1, %2").arg(i + 1).arg(why)
                             : tr("line %1: not one JSON value (%2): %3").arg(i + 1).arg(why, line);
                return false;
            }
            spec->inputs.append(value);
        }
        break;
    }
    case 1: {
        const qint64 start = m_start->value(), stop = m_stop->value(), step = m_step->value();
        if (step == 0) {
            *error = tr("range: step must not be 0");
            return false;
        }
        const qint64 count = step > 0 ? (stop - start + step - 1) / step : (start - stop - step - 1) / -step;
        if (count > sched::MaxJobInputs) {
            *error = tr("range: %1 inputs, more than the limit of %2").arg(count).arg(sched::MaxJobInputs);
            return false;
        }
        spec->inputs = sched::JobInputs::range(start, step, std::max<qint64>(count, 0)); // made on demand
        break;
    }
    default: {
        QFile f(m_file->text());
        if (!f.open(QIODevice::ReadOnly | QIODevice::Text)) {
            *error = tr("%1: %2").arg(m_file->text(), f.errorString());
            return false;
        }
        const QList<QByteArray> lines = f.readAll().split('\n');
        for (const QByteArray &line : lines)
            if (!line.isEmpty())
                spec->inputs.append(QCborValue(QString::fromUtf8(line)));
        break;
    }
    }
    if (spec->inputs.isEmpty()) {
        *error = tr("the job has no inputs");
        return false;
    }
    return true;
}

} // namespace taskfleet::gui
