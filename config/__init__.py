"""The wiring: settings, URL confs, ASGI/WSGI, the admin site, the embedded default's
launcher and the demo's commands. It sits on top of the stages and may import every one;
nothing below imports it (settings are read through django.conf.settings)."""
