"""Stage 6, widgets: everything a person clicks (ipywidgets, anywidget, Plotly FigureWidget).

rating (the rating page: two players, two sliders) with card (its layout), order, paging,
progress, identity (its parts) and prefetch (clips rendered ahead); evaluation (a
MUSHRA-style page); classroom (the teacher's dashboard); live (a figure that grows while
you rate); listening (click a map to hear it) with listening_figure (what it draws);
player_row (a row of players); recorder (record a vowel in the browser, check it, keep it
in the class folder) with mic (its page half). Every widget keeps its state in
traitlets and has a programmatic twin for each button, so code and tests drive the path a
person drives.
"""
from .._lazy import lazy_names

__getattr__, __dir__, __all__ = lazy_names(__name__, {
    "RatingWidget": "rating", "display_order": "rating",
    "EvaluationWidget": "evaluation", "ClassroomDashboard": "classroom",
    "LiveGradient": "live", "ListeningMap": "listening", "listening_map": "listening",
    "players": "player_row", "StudyWidget": "study", "StudyCloud": "study",
    "Recorder": "recorder", "MicCapture": "mic",
})
