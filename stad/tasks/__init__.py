"""One library function per CLI verb (the CLI only parses arguments and calls these):

=============  ===================================================
``train``      :func:`stad.tasks.train.train`
``propose``    :func:`stad.tasks.propose.propose`
``predict``    :func:`stad.tasks.predict.predict`
``evaluate``   :func:`stad.tasks.evaluate.evaluate_files`
``demo``       :func:`stad.tasks.demo.run_demo`
``run``        :func:`stad.tasks.run.run_pipeline` (stages in ``stages``, report in
               ``run_report``)
=============  ===================================================
"""
