"""One URL per request handler of the shop and the blog: /<handler name>/."""
from django.http import HttpResponse
from django.urls import path

from blog import views as blog_views
from shop import handlers as shop_handlers


def view(handler):
    def run(request):
        handler()
        return HttpResponse("ok")

    run.__name__ = handler.__name__
    return run


HANDLERS = shop_handlers.HANDLERS + blog_views.HANDLERS
urlpatterns = [path(h.__name__ + "/", view(h)) for h in HANDLERS]
