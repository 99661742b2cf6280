"""An application written the way Microdot 2.x's documentation writes them.

Nothing here knows about this kit: it must run unchanged on upstream Microdot and here.
"""
import time

from microdot import Microdot, Response, redirect, send_file

STATIC = __file__.rsplit('/', 1)[0] + '/seed_static/' if '/' in __file__ else 'seed_static/'

customers_app = Microdot()


@customers_app.get('/')
async def get_customers(request):
    return {'customers': ['ann', 'bob'], 'prefix': request.url_prefix}


@customers_app.post('/')
async def new_customer(request):
    customer = request.json
    return {'created': customer['name']}, 201


orders_app = Microdot()


@orders_app.get('/<int:order_id>')
async def get_order(request, order_id):
    return {'order': order_id}


def create_app():
    app = Microdot()

    @app.before_request
    async def start_timer(request):
        request.g.start_time = time.time()

    @app.before_request
    async def authenticate(request):
        if request.path.startswith('/private') and request.headers.get('X-Token') != 'secret':
            return 'Unauthorized', 401

    @app.after_request
    async def end_timer(request, response):
        response.headers['X-Elapsed'] = str(time.time() - request.g.start_time)

    @app.route('/')
    async def index(request):
        return 'Hello, world!'

    @app.route('/form', methods=['GET', 'POST'])
    async def form(req):
        name = 'Unknown'
        if req.method == 'POST':
            name = req.form.get('name')
        return '<p>Hello ' + name + '</p>', {'Content-Type': 'text/html'}

    @app.get('/private/data')
    async def private(request):
        return {'secret': 42}

    @app.get('/fibonacci')
    async def fibonacci(request):
        def generate_fibonacci():
            a, b = 0, 1
            while a < 100:
                yield str(a) + '\n'
                a, b = b, a + b
        return generate_fibonacci()

    @app.get('/cookie')
    async def cookie(request):
        @request.after_request
        async def set_cookie(request, response):
            response.set_cookie('name', 'value', http_only=True)
            return response
        return 'Hello, World!'

    @app.get('/visits')
    async def visits(request):
        count = int(request.cookies.get('visits', '0')) + 1
        response = Response('visit ' + str(count))
        response.set_cookie('visits', str(count))
        return response

    @app.get('/old')
    async def old(request):
        return redirect('/')

    @app.route('/static/<path:path>')
    async def static(request, path):
        if '..' in path:
            return 'Not found', 404
        return send_file(STATIC + path, max_age=86400)

    @app.errorhandler(404)
    async def not_found(request):
        return {'error': 'resource not found'}, 404

    @app.errorhandler(ZeroDivisionError)
    async def division_by_zero(request, exception):
        return {'error': 'division by zero'}, 500

    @app.get('/divide/<int:a>/<int:b>')
    async def divide(request, a, b):
        return {'result': a // b}

    @app.get('/shutdown')
    async def shutdown(request):
        request.app.shutdown()
        return 'The server is shutting down...'

    app.mount(customers_app, url_prefix='/customers')
    app.mount(orders_app, url_prefix='/orders')
    return app
